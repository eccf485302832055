"""MCP tools, compiled: descriptor, input and output validators, and the core invocation.

A call validates its arguments (a check compiled at load; the jsonschema walk only to word a
rejection), runs the :class:`~naftiko_runtime.engine.Invocation` and turns the
:class:`~naftiko_runtime.engine.Outcome` or the :class:`~naftiko_runtime.errors.RequestError` into a
``CallToolResult`` in its wire form (a plain dict: the fast path serializes it once, the SDK path
validates it into its model); an error carries the problem document every surface reports.
Nothing here imports the MCP SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...engine import Invocation, Outcome, Runtime
from ...errors import InvalidInputError, RequestError, TemplateError
from ...formats.json import dumps, loads
from ...problem import Problem
from ...spec import model as m
from ..schema import Check, Sources, Validator, compile_check, schema_problem, violation
from .blobs import read_binary, tool_block
from .schema import tool_descriptor

#: a ``CallToolResult`` as it goes on the wire
Result = dict[str, Any]


def to_json(value: Any) -> str:
    return dumps(value).decode()


def text_content(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def tool_result(text: str, structured: Any = None, *, is_error: bool = False) -> Result:
    result: Result = {"content": text_content(text), "isError": is_error}
    if structured is not None:
        result["structuredContent"] = structured
    return result


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Tool:
    #: what ``tools/list`` says about the tool, in wire form
    descriptor: dict[str, Any]
    invocation: Invocation
    redact: Callable[[str], str]
    check: Check
    validator: Validator
    output_validator: Validator | None
    output_check: Check | None
    defaults: Mapping[str, Any]
    #: the adapter's namespace and ``maxBinarySize``, for binary results
    namespace: str = ""
    max_binary: int | None = None

    @property
    def name(self) -> str:
        return str(self.descriptor["name"])

    @property
    def input_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.descriptor["inputSchema"]
        return schema

    async def call(self, arguments: Mapping[str, Any]) -> Result:
        if not self.check(arguments):
            found = violation(self.validator, arguments)
            if found is not None:
                text = found.text("argument")
                where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in found.where)
                at = where if found.where else (f"$.{found.member}" if found.member else None)
                invalid = InvalidInputError(text, parameter=found.member, location="arguments", json_path=at)
                return self._error(f"Invalid arguments for {self.name}: {text}", invalid)
        inputs = {**{k: v for k, v in self.defaults.items() if k not in arguments}, **arguments}
        try:
            outcome = await self.invocation.run(inputs)
            if outcome.stream is not None:
                data, media = await read_binary(outcome, self.max_binary)
                return {"content": [tool_block(data, media, self.namespace, self.name)], "isError": False}
        except (InvalidInputError, TemplateError) as exc:
            return self._error(f"Invalid arguments for {self.name}: {exc.detail}", exc)
        except RequestError as exc:
            return self._error(f"{self.name} failed: {exc.detail}", exc)
        return self._result(outcome)

    def _result(self, outcome: Outcome) -> Result:
        structured: dict[str, Any] | None = None
        if outcome.raw_json:
            try:
                outcome = Outcome(outcome.status, data=loads(outcome.raw or b""))
            except ValueError:
                return self._error(f"{self.name} failed: the upstream answered with invalid JSON")
        if outcome.raw is not None:
            text = outcome.raw.decode("utf-8", "replace")
        elif outcome.empty:
            structured = {"status": outcome.status}  # the upstream answered with no body: say so
            text = to_json(structured)
            if self.output_check is not None and not self.output_check(structured):
                if self.output_validator is not None and not self.output_validator.is_valid(structured):
                    structured = {}
        else:
            text = to_json(outcome.data)
            structured = outcome.data if isinstance(outcome.data, dict) else None
        scrubbed = self.redact(text)
        if scrubbed != text:
            # an upstream echoed a bound secret back: it leaves neither as text nor as structured content
            text = scrubbed
            if structured is not None:
                structured = loads(scrubbed)
        if self.output_validator is not None:
            if structured is None:
                kind = "a text body" if outcome.raw is not None else _json_kind(outcome.data)
                return self._error(
                    f"{self.name}: the result is {kind}, not the object its outputParameters declare: "
                    f"{_clip(text)}"
                )
            if self.output_check is not None and not self.output_check(structured):
                problem = schema_problem(self.output_validator, structured, "output")
                if problem is not None:
                    return self._error(
                        f"{self.name}: the result does not fit its outputParameters: {problem}"
                    )
        return tool_result(text, structured)

    def _error(self, text: str, exc: RequestError | None = None) -> Result:
        """An ``isError`` result; a request error's problem document (the members REST answers with) is
        its ``structuredContent.error``. Clients check only successful results against ``outputSchema``."""
        structured = None if exc is None else {"error": Problem.of(exc).body()}
        return tool_result(text, structured, is_error=True)


def compile_tool(adapter: m.ExposesMcp, runtime: Runtime, tool: m.McpTool) -> Tool:
    sources = Sources(runtime.document, runtime.bind_scopes)
    descriptor = tool_descriptor(sources, tool)
    name = descriptor["name"]
    invocation = runtime.invocation(name, tool.invocable)
    hints = tool.hints
    invocation.idempotent = bool(hints and (hints.idempotent or hints.read_only))
    schema, out = descriptor["inputSchema"], descriptor.get("outputSchema")
    return Tool(
        descriptor=descriptor,
        invocation=invocation,
        redact=runtime.redact,
        check=compile_check(schema),
        validator=Validator(schema),
        output_validator=Validator(out) if out else None,
        output_check=compile_check(out) if out else None,
        defaults={k: s["default"] for k, s in schema.get("properties", {}).items() if "default" in s},
        namespace=adapter.namespace,
        max_binary=adapter.max_binary_size,
    )
