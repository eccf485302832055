"""A deliberately cheap upstream for the benchmark: raw asyncio, fixed JSON, keep-alive.

It stands in for Inngest's ``GET /v2/runs/{runId}``. It answers every request whose path is
``/v2/runs/<RUN_ID>`` (any query string) and whose ``Authorization`` is ``Bearer <TOKEN>`` with one
prebuilt response, and 401/404 otherwise, so a server that skips the bearer or mangles the path is caught.
No HTTP library is involved, so its CPU cost per request is a small fraction of any Python proxy's.

Usage: python upstream.py PORT TOKEN RUN_ID
"""

from __future__ import annotations

import asyncio
import json
import sys


#: A realistic FunctionRun envelope (about 1 KB), as Inngest's v2 REST API shapes it.
def run_document(run_id: str) -> dict[str, object]:
    return {
        "data": {
            "id": run_id,
            "function": {"id": "process-order", "name": "Process order"},
            "app": {"id": "shop-backend"},
            "status": "COMPLETED",
            "queuedAt": "2026-11-22T10:15:30.120Z",
            "startedAt": "2026-11-22T10:15:30.184Z",
            "endedAt": "2026-11-22T10:15:32.907Z",
            "durationMs": "2723",
            "trigger": {"eventIds": ["01KAX7S1Q0W8Y1ZB5N2M3P4R5T"], "eventName": "shop/order.placed"},
            "output": {
                "orderId": "ord_8f2c1e",
                "charged": True,
                "amount": {"currency": "EUR", "value": 129.9},
                "items": [
                    {"sku": "TEE-BLK-M", "quantity": 2, "price": 24.95},
                    {"sku": "HOOD-GRY-L", "quantity": 1, "price": 80.0},
                ],
                "shipment": {"carrier": "dhl", "tracking": "JJD0001234567890", "eta": "2026-11-25"},
                "steps": ["reserve-stock", "charge-card", "create-shipment", "send-receipt"],
            },
        },
        "metadata": {"fetchedAt": "2026-11-22T10:16:01.004Z"},
    }


def response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


class Upstream(asyncio.Protocol):
    def __init__(self, ok: bytes, run_path: bytes, auth: bytes) -> None:
        self.ok = ok
        self.run_path = run_path
        self.auth = auth
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            body_length = 0
            marker = head.find(b"\r\ncontent-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker + 2)
                body_length = int(head[marker + 17 : line_end if line_end > 0 else None])
            if len(self.buffer) < end + 4 + body_length:
                return
            self.buffer = self.buffer[end + 4 + body_length :]
            assert self.transport is not None
            self.transport.write(self.answer(head))

    def answer(self, head: bytes) -> bytes:
        target = head.split(b" ", 2)[1]
        path = target.split(b"?", 1)[0]
        if path != self.run_path:
            return NOT_FOUND
        if self.auth not in head:
            return UNAUTHORIZED
        return self.ok


NOT_FOUND = response("404 Not Found", b'{"errors":[{"code":"not_found","message":"no such run"}]}')
UNAUTHORIZED = response(
    "401 Unauthorized", b'{"errors":[{"code":"invalid_signing_key","message":"bad or missing bearer"}]}'
)


async def main(port: int, token: str, run_id: str) -> None:
    ok = response("200 OK", json.dumps(run_document(run_id), separators=(",", ":")).encode())
    run_path = f"/v2/runs/{run_id}".lower().encode()
    auth = f"\r\nauthorization: bearer {token}".lower().encode()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Upstream(ok, run_path, auth), "127.0.0.1", port, backlog=1024, reuse_address=True
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
    except KeyboardInterrupt:
        pass
