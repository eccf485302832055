"""Binary bodies in MCP results, base64 as MCP carries bytes: a tool's content block chosen by media type
(``image/*`` an image, ``audio/*`` audio, anything else an embedded blob resource at a transient URI),
and a resource's blob contents. The body is read whole, up to its size limit (the operation's
``maxBinarySize``, else the adapter's, else 10 MiB): MCP sends it in one message."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from ...engine import Outcome

OCTETS = "application/octet-stream"

#: media type family -> the content block a tool result carries it in (any other: an embedded resource)
BLOCKS = {"image": "image", "audio": "audio"}


async def read_binary(outcome: Outcome, adapter_limit: int | None) -> tuple[str, str]:
    """The body of a binary outcome as base64, and its media type (declared, else the upstream's)."""
    stream = outcome.stream
    assert stream is not None
    data = await stream.read(stream.limit(adapter_limit))
    media = outcome.content_type or stream.content_type or OCTETS
    return base64.b64encode(data).decode("ascii"), media


def tool_block(data: str, media: str, namespace: str, tool: str) -> dict[str, Any]:
    kind = BLOCKS.get(media.split("/", 1)[0].strip().lower())
    if kind is not None:
        return {"type": kind, "data": data, "mimeType": media}
    uri = f"ikanos://transient/{namespace}/{tool}/{uuid.uuid4()}"
    return {"type": "resource", "resource": {"uri": uri, "mimeType": media, "blob": data}}
