"""YAML loading that remembers where every node came from.

The document is built as plain dicts, lists and scalars (what JSON Schema and the model builder read),
and a side table maps each JSON path to the line and column of its node, and of its key for mapping
entries, so any finding can point at the exact place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .findings import Path

# libyaml's parser when PyYAML was built with it (about 3x faster to load a capability), else pure Python
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader without the timestamp resolver: unquoted dates stay strings, as the spec expects."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(slots=True)
class Positions:
    """1-based line and column of every node (by path), and of every mapping key (by the value's path)."""

    nodes: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def of(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """The closest known position: the node itself, else its nearest ancestor."""
        table = self.keys if key else self.nodes
        p = tuple(path)
        while p:
            if p in table:
                return table[p]
            if p in self.nodes:
                return self.nodes[p]
            p = p[:-1]
        return self.nodes.get((), (1, 1))


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def load_yaml(text: str) -> tuple[Any, Positions]:
    """Parse the first YAML document of ``text``; return the data and its position table."""
    loader = _Loader(text)
    positions = Positions()
    try:
        node = loader.get_single_node() if _single_document(text) else _first_node(loader)
        if node is None:
            return None, positions
        data = _build(loader, node, (), positions)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or str(exc)
        if exc.context:
            problem = f"{exc.context}: {problem}"
        lines = text.splitlines()
        shown = f" (line {line} reads: {lines[line - 1].rstrip()!r})" if 0 < line <= len(lines) else ""
        raise YamlSyntaxError(f"invalid YAML: {problem}{shown}", line, col) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"invalid YAML: {exc}", 1, 1) from exc
    finally:
        loader.dispose()
    return data, positions


def _single_document(text: str) -> bool:
    return "\n---" not in text and not text.startswith("---\n---")


def _first_node(loader: _Loader) -> yaml.Node | None:
    return loader.get_node() if loader.check_node() else None


def _build(loader: _Loader, node: yaml.Node, path: Path, positions: Positions) -> Any:
    positions.nodes[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "mapping keys must be scalars", key_node.start_mark
                )
            key = key if isinstance(key, str) else str(key) if key is not None else "null"
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            child = (*path, key)
            positions.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(loader, value_node, child, positions)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), positions) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
