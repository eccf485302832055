"""ULIDs (Crockford base32, 48-bit milliseconds + 80-bit entropy) and Inngest's seeded event IDs."""

from __future__ import annotations

import base64
import binascii
import os
import uuid

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {ch: i for i, ch in enumerate(ALPHABET)}
_MAX_MS = (1 << 48) - 1

#: Namespace for the stable internal UUIDs (apps, functions, environment) the stand-in reports.
UUID_NAMESPACE = uuid.UUID("6f1d8a52-3c0e-4b7a-9a55-1f0e2c9b7d41")


def encode_ulid(ms: int, entropy: bytes) -> str:
    if not 0 <= ms <= _MAX_MS:
        raise ValueError("ULID timestamp out of range")
    if len(entropy) != 10:
        raise ValueError("ULID entropy must be 10 bytes")
    value = (ms << 80) | int.from_bytes(entropy, "big")
    chars = []
    for _ in range(26):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_ulid(text: str) -> bool:
    """Same acceptance as oklog/ulid ``Parse``: 26 Crockford chars, any case, no 128-bit overflow."""
    if len(text) != 26:
        return False
    upper = text.upper()
    return all(ch in _DECODE for ch in upper) and upper[0] <= "7"


def ulid_time_ms(text: str) -> int:
    value = 0
    for ch in text.upper()[:10]:
        value = (value << 5) | _DECODE[ch]
    return value


class UlidFactory:
    """Fresh ULIDs; within one millisecond the entropy is incremented so IDs sort in creation order."""

    def __init__(self) -> None:
        self._last_ms = -1
        self._last_entropy = 0

    def new(self, ms: int) -> str:
        if ms == self._last_ms and self._last_entropy < (1 << 80) - 1:
            self._last_entropy += 1
        else:
            self._last_ms = ms
            self._last_entropy = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        return encode_ulid(ms, self._last_entropy.to_bytes(10, "big"))


def seeded_ulids(header: str | None, count: int) -> list[str] | None:
    """IDs from ``x-inngest-event-id-seed: <millis>,<base64 of 10 bytes>``; None if the header is invalid.

    The 1-based index of each event is added (mod 2**32) to the last 4 entropy bytes, so a retried
    request carrying the same seed yields the same IDs.
    """
    if not header:
        return None
    parts = header.split(",")
    if len(parts) != 2:
        return None
    try:
        millis = int(parts[0])
        entropy = base64.b64decode(parts[1], validate=True)
    except (ValueError, binascii.Error):
        return None
    if millis <= 0 or millis > _MAX_MS or len(entropy) != 10:
        return None
    tail = int.from_bytes(entropy[6:10], "big")
    ids = []
    for index in range(1, count + 1):
        bumped = entropy[:6] + ((tail + index) % (1 << 32)).to_bytes(4, "big")
        ids.append(encode_ulid(millis, bumped))
    return ids


def stable_uuid(kind: str, *parts: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, ":".join((kind, *parts))))
