"""``with``: how a caller's inputs become the arguments of what it invokes.

- a reference (``<own namespace>.<name>``, or the adapter's alias: ``rest.<name>``, ``tools.<name>``)
  takes the input of that name, by exact name, else case-insensitively;
- a string with ``{{...}}`` is a template over the inputs and the binds; one that is only ``{{name}}``
  of a declared optional input the call did not get (and no bind has) is omitted, as an absent
  reference is;
- anything else is a literal.

Inputs flow on by name as well, so a file that names its inputs after the upstream parameters needs no
``with`` at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from ..expressions import MISSING, Template, compile_template, has_template
from ..spec import model as m
from .outcome import Scopes


@dataclass(frozen=True, slots=True)
class WithEntry:
    key: str
    ref: str | None = None
    template: Template | None = None
    literal: Any = None
    #: ``{{name}}`` alone, of an optional input: omitted, like a reference, when no input or bind has it
    optional: str | None = None


def compile_with(
    table: Mapping[str, m.WithValue], prefixes: Sequence[str], optional: AbstractSet[str] = frozenset()
) -> tuple[WithEntry, ...]:
    entries = []
    for key, value in table.items():
        ref = m.with_reference(value, prefixes)
        if ref is not None:
            entries.append(WithEntry(key, ref=ref))
        elif isinstance(value, str) and has_template(value):
            template = compile_template(value)
            single = template.single_name
            omissible = single if single in optional else None
            entries.append(WithEntry(key, template=template, optional=omissible))
        else:
            entries.append(WithEntry(key, literal=value))
    return tuple(entries)


def find_input(inputs: Mapping[str, Any], name: str) -> Any:
    """An input by exact name, else the one whose name matches case-insensitively."""
    if name in inputs:
        return inputs[name]
    lowered = name.lower()
    for key, value in inputs.items():
        if key.lower() == lowered:
            return value
    return MISSING


def apply_with(entries: Sequence[WithEntry], inputs: Mapping[str, Any], scopes: Scopes) -> dict[str, Any]:
    args = dict(inputs)
    if not entries:
        return args
    template_scopes = (*scopes, inputs)
    for entry in entries:
        if entry.ref is not None:
            value = find_input(inputs, entry.ref)
            if value is MISSING:
                args.pop(entry.key, None)
                continue
            args[entry.key] = value
        elif entry.template is not None:
            name = entry.optional
            absent = name is not None and find_input(inputs, name) is MISSING
            if absent and not any(name in s for s in scopes):
                args.pop(entry.key, None)  # an optional argument the call did not get
                continue
            args[entry.key] = entry.template.value(template_scopes, what=f"'with' value '{entry.key}'")
        else:
            args[entry.key] = entry.literal
    return args
