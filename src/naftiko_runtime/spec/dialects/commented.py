"""Writing a converted document with the source's comments, key order and indentation (``naftiko convert``).

The conversion itself works on plain data (:mod:`.convert`); it also records, for every node it produced,
the path of the source node it came from. Here the source text is read again with ruamel.yaml in
round-trip mode and the converted tree is rebuilt from its ``CommentedMap``/``CommentedSeq`` types, each
node taking the comments its source node carried. ruamel keeps a comment with the key or item before it,
so a comment follows its entry through renames and through the list <-> keyed map reshaping: an entry's
key in one dialect is its ``name`` in the other, and the two swap their comments. A comment on a node
the target drops (an alpha2 ``name`` of a keyed entry stays only as the key) goes with it.

ruamel is imported here only: loading, validation and ``serve`` never read comments.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from ..findings import Path

#: the source path of a converted node's path (None: made by the conversion, no comments to carry)
Origin = Callable[[Path], Path | None]


def dump_with_comments(data: Any, source_text: str, origin: Origin) -> str:
    """``data`` as YAML in the source's indentation, carrying the source's comments (see the module)."""
    _, sequence, offset = load_yaml_guess_indent(source_text)
    yaml = YAML()
    yaml.preserve_quotes = True
    source = yaml.load(source_text)
    yaml.width = 10_000
    yaml.indent(mapping=_mapping_indent(source_text), sequence=sequence or 2, offset=offset or 0)
    yaml.representer.add_representer(str, _string)
    out = io.StringIO()
    yaml.dump(_Rebuild(source, origin).node(data, ()), out)
    return out.getvalue()


_NESTED_KEY = re.compile(r"^[^\s#-][^:#]*:\s*(#.*)?\n( +)[^\s#-]", re.MULTILINE)
_PLAIN = "tag:yaml.org,2002:str"
_RESOLVER = pyyaml.resolver.Resolver()


def _mapping_indent(text: str) -> int:
    """How far the source indents a map inside a map (its first nested key), else 2."""
    match = _NESTED_KEY.search(text)
    return len(match.group(2)) if match else 2


def _string(representer: Any, value: str) -> Any:
    """A string new to the document, quoted where the loader (YAML 1.1) would read it as something else
    (``NO``, ``on``, ``1.0``...); ruamel writes YAML 1.2, where those are plain strings."""
    plain = _RESOLVER.resolve(pyyaml.ScalarNode, value, (True, False)) == _PLAIN  # type: ignore[no-untyped-call]
    style = None if plain else "'"
    return representer.represent_scalar(_PLAIN, value, style=style)


class _Rebuild:
    def __init__(self, source: Any, origin: Origin) -> None:
        self.source = source
        self.origin = origin

    def at(self, path: Path | None) -> Any:
        """The source node at ``path``, or None."""
        if path is None:
            return None
        node = self.source
        for part in path:
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                return None
        return node

    def node(self, value: Any, path: Path) -> Any:
        if isinstance(value, Mapping):
            return self.mapping(value, path)
        if isinstance(value, list):
            return self.sequence(value, path)
        source = self.at(self.origin(path))
        # the source's own scalar, when unchanged, keeps its quoting and number style
        if source is not None and type(value) in (str, int, float, bool) and source == value:
            if isinstance(source, type(value)) and isinstance(value, bool) == isinstance(source, bool):
                return source
        return value

    def mapping(self, value: Mapping[str, Any], path: Path) -> CommentedMap:
        out = CommentedMap()
        from_path = self.origin(path)
        source = self.at(from_path)
        if isinstance(source, CommentedMap) and source.ca.comment:
            comment = source.ca.comment
            if from_path and path and isinstance(from_path[-1], int) != isinstance(path[-1], int):
                # a keyed entry <-> a list item: the comment of the key's line went to its ``name``
                comment = [None, *comment[1:]]
            out.ca.comment = comment
        for key, child in value.items():
            out[key] = self.node(child, (*path, key))
            entry = self.entry_comment((*path, key), source, key)
            if entry is not None:
                out.ca.items[key] = entry
        return out

    def sequence(self, value: list[Any], path: Path) -> CommentedSeq:
        out = CommentedSeq()
        source = self.at(self.origin(path))
        if isinstance(source, CommentedSeq) and source.ca.comment:
            out.ca.comment = source.ca.comment
        for i, child in enumerate(value):
            out.append(self.node(child, (*path, i)))
            from_path = self.origin((*path, i))
            parent = self.at(from_path[:-1]) if from_path else None
            if isinstance(parent, CommentedSeq) and from_path and from_path[-1] in parent.ca.items:
                out.ca.items[i] = parent.ca.items[from_path[-1]]
        return out

    def entry_comment(self, path: Path, owner: Any, key: str) -> Any:
        """The comment a map entry takes: its source entry's, or across a list <-> keyed map reshaping, the
        comment of the source's ``name`` (entry -> item) or of the source's key (``name`` -> key)."""
        from_path = self.origin(path)
        if not from_path:
            return None
        parent = self.at(from_path[:-1])
        last = from_path[-1]
        if isinstance(parent, CommentedMap):
            if key == "name" and isinstance(owner, CommentedMap) and "name" in owner.ca.items:
                return owner.ca.items["name"]
            return parent.ca.items.get(last)
        if isinstance(parent, CommentedSeq):  # a list item that became a keyed entry: its name's comment
            item = self.at(from_path)
            if isinstance(item, CommentedMap):
                return item.ca.items.get("name")
        return None
