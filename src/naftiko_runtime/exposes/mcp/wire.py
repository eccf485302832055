"""JSON-RPC error codes and the protocol error the compiled tools, resources and prompts raise, free of
the MCP SDK (the SDK path turns :class:`ProtocolError` into its ``MCPError``; the fast path writes it)."""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
MISSING_CAPABILITY = -32021
UNSUPPORTED_PROTOCOL_VERSION = -32022


class ProtocolError(Exception):
    """A JSON-RPC error answer (not a tool error): an unknown tool, a missing prompt argument."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def present(**fields: Any) -> dict[str, Any]:
    """A wire object of the fields that have a value (the SDK's models drop ``None`` the same way)."""
    return {key: value for key, value in fields.items() if value is not None}
