"""MCP prompts, compiled: inline message templates or a file (``location``), filled in one pass."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...spec import model as m
from .checks import location_path
from .wire import INVALID_PARAMS, ProtocolError, present

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Prompt:
    spec: m.McpPrompt
    messages: tuple[tuple[str, str], ...]  # (role, template)

    def descriptor(self) -> dict[str, Any]:
        """What ``prompts/list`` says about the prompt, in wire form."""
        args = [
            present(name=a.name, title=a.label, description=a.description, required=a.required)
            for a in self.spec.arguments
        ]
        return present(
            name=self.spec.name,
            title=self.spec.label,
            description=self.spec.description,
            arguments=args or None,
        )

    def render(self, arguments: Mapping[str, str]) -> dict[str, Any]:
        """The ``prompts/get`` result, in wire form."""
        missing = [a.name for a in self.spec.arguments if a.required and not arguments.get(a.name)]
        if missing:
            raise ProtocolError(
                INVALID_PARAMS, f"Prompt '{self.spec.name}' needs argument(s): {', '.join(missing)}"
            )
        declared = {a.name for a in self.spec.arguments}

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in arguments:
                return str(arguments[name])
            return "" if name in declared else match.group(0)  # single pass: values are not re-read

        messages = [
            {
                "role": "assistant" if role == "assistant" else "user",
                "content": {"type": "text", "text": _PLACEHOLDER.sub(fill, template)},
            }
            for role, template in self.messages
        ]
        return present(description=self.spec.description, messages=messages)


def compile_prompt(prompt: m.McpPrompt, base: Path) -> Prompt:
    if prompt.location is not None:
        path = location_path(prompt.location, base)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"MCP prompt '{prompt.name}': cannot read {prompt.location} ({exc})") from None
        return Prompt(prompt, (("user", text),))
    return Prompt(prompt, tuple((msg.role, msg.content) for msg in prompt.template))
