"""What an invocation or a step produced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..consumes.stream import BinaryBody
from ..formats.json import loads

#: the name scopes templates read: the binds, then the invocation's arguments
Scopes = Sequence[Mapping[str, Any]]


@dataclass(slots=True)
class Outcome:
    """A status and JSON ``data``, or ``raw`` bytes passed through as is, or a binary ``stream`` (the
    consumer of the outcome reads and closes it; ``content_type`` is then the declared media type)."""

    status: int
    data: Any = None
    raw: bytes | None = None
    content_type: str | None = None
    empty: bool = False
    #: ``raw`` is the upstream's JSON, passed through unparsed (the outputs would return it unchanged)
    raw_json: bool = False
    stream: BinaryBody | None = None

    def value(self) -> Any:
        """The JSON value, parsing a passed-through body when needed (``None`` for empty or non-JSON)."""
        if self.raw is not None:
            return loads(self.raw) if self.raw_json else None
        return self.data
