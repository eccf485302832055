"""What this runtime cannot do with a valid MCP adapter, found at load: static resources and prompt files
whose ``location`` is not there, and a resource declared ``binary`` over an operation that is not (what is
returned follows the operation). Light on purpose: nothing here imports the MCP SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ...spec import model as m
from ...spec.checks import Check


def location_path(location: str, base: Path) -> Path:
    """``file:///./x`` (or ``/../x``) is relative to the capability's folder; ``file:///x`` is absolute."""
    rest = location[len("file://") :]
    if rest.startswith(("/./", "/../")):
        return (base / rest[1:]).resolve()
    return Path(rest).resolve()


def capability_folder(document: m.NaftikoDocument) -> Path:
    return Path(document.file).resolve().parent


def check_mcp(adapter: m.ExposesMcp, document: m.NaftikoDocument) -> Iterator[Check]:
    base = capability_folder(document)
    for resource in adapter.resources:
        if resource.location is not None and not location_path(resource.location, base).exists():
            yield (
                "error",
                (*resource.path, "location"),
                f"MCP resource '{resource.name}': {resource.location} does not exist",
                False,
            )
        binary = _binary_format(resource.invocable, document)
        if resource.binary and binary is not None and binary != "binary":
            yield (
                "warning",
                (*resource.path, "binary"),
                f"MCP resource '{resource.name}': binary has no effect: {resource.invocable.call} answers "
                f"outputRawFormat {binary}, so the resource is read as text",
                False,
            )
    for prompt in adapter.prompts:
        if prompt.location is not None and not location_path(prompt.location, base).is_file():
            yield (
                "error",
                (*prompt.path, "location"),
                f"MCP prompt '{prompt.name}': {prompt.location} is not a file",
                False,
            )


def _binary_format(invocable: m.Invocable, document: m.NaftikoDocument) -> str | None:
    """The ``outputRawFormat`` of the operation a plain ``call`` names, or None."""
    if invocable.call is None or invocable.steps:
        return None
    namespace, _, name = invocable.call.partition(".")
    consumer = document.consumer(namespace)
    found = consumer.find(name) if consumer is not None else None
    return found[1].output_raw_format if found is not None else None
