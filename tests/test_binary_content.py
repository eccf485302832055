"""Binary content (Ikanos beta1+) on the wire: a real upstream on loopback serving bytes, with and without
``Content-Length``, under and over ``maxBinarySize``, relayed by the REST adapter as a stream and returned
by the MCP adapter as base64 content."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp import types as mt

from naftiko_runtime.consumes.policies import PolicySettings
from naftiko_runtime.exposes import check_adapters
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.dialects.convert import convert_text
from naftiko_runtime.spec.loader import load_file, load_text

from .conftest import serve_app
from .support import CONFORMANCE, requires_shared, run_asgi

KiB = 1024
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400  # 102,408 bytes: more than is read ahead
PDF = b"%PDF-1.7\n" + b"\x00\xff binary \xfe" * 9000 + b"\n%%EOF\n"
BIG = b"\x01" * (300 * KiB)  # over the REST adapter's 256KiB
CHUNK = b"\x7f" * (16 * KiB)
TINY = bytes(range(200))
ERROR_BODY = b'{"error":"' + b"gone " * 700 + b'"}'  # JSON under the 4096-character cap


class ByteUpstream:
    """Serves bytes: with a Content-Length, chunked (none), gated mid-body, or failing with a 404."""

    def __init__(self) -> None:
        self.gate = threading.Event()  # set by a test once it has the first bytes of gated.bin
        self.finished_before_gate: bool | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"].strip("/").split("/")  # /files/NAME, /small/NAME, /photos/ID/binary
        name = "photo" if parts[0] == "photos" else parts[1]
        fixed = {
            "doc.pdf": (PDF, b"application/pdf"),
            "image.png": (PNG, b"image/png"),
            "big.bin": (BIG, b""),
        }
        fixed["photo"] = (PNG, b"image/png")
        fixed["tiny.txt"] = (TINY, b"text/plain")
        if name == "gzipped.pdf":
            packed = gzip.compress(PDF)
            headers = [(b"content-length", str(len(packed)).encode()), (b"content-encoding", b"gzip")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": packed})
            return
        if name in fixed:
            data, kind = fixed[name]
            headers = [(b"content-length", str(len(data)).encode())]
            headers += [(b"content-type", kind)] if kind else []
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": data})
            return
        if name in ("missing", "gone"):  # gone: a longer error body, in two network chunks
            body = b'{"error":"no such file"}' if name == "missing" else ERROR_BODY
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            half = len(body) // 2
            await send({"type": "http.response.body", "body": body[:half], "more_body": True})
            await asyncio.sleep(0.05)
            await send({"type": "http.response.body", "body": body[half:]})
            return
        count = {"chunked-small.bin": 2, "chunked-big.bin": 25, "gated.bin": 16}.get(name)
        if count is None:
            await send({"type": "http.response.start", "status": 500, "headers": []})
            await send({"type": "http.response.body", "body": b"unknown"})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/x-test")],
            }
        )
        for i in range(count):
            if name == "gated.bin" and i == 8:
                waited = await asyncio.to_thread(self.gate.wait, 5)
                self.finished_before_gate = not waited
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})


CAPABILITY = """\
ikanos: 1.0.0-beta5
info:
  display: Files
  description: Bytes from an upstream
capability:
  consumes:
    - namespace: files
      type: http
      baseUri: http://upstream.invalid
      resources:
        file:
          path: /files/{{name}}
          operations:
            get-file:
              method: GET
              outputRawFormat: binary
              inputParameters:
                name:
                  in: path
        small:
          path: /small/{{name}}
          operations:
            get-small:
              method: GET
              outputRawFormat: binary
              maxBinarySize: 1KiB
              inputParameters:
                name:
                  in: path
  exposes:
    - type: rest
      namespace: web
      port: 9000
      maxBinarySize: 256KiB
      resources:
        files:
          path: /files/{{name}}
          operations:
            get-file:
              method: GET
              call: files.get-file
        documents:
          path: /documents/{{name}}
          operations:
            get-document:
              method: GET
              call: files.get-file
              responseBinary:
                mediaType: application/pdf
        small:
          path: /small/{{name}}
          operations:
            get-small:
              method: GET
              call: files.get-small
    - type: mcp
      namespace: files-mcp
      port: 9001
      maxBinarySize: 256KiB
      tools:
        get-file:
          description: A file's bytes
          inputParameters:
            name:
              type: string
              description: The file name
          call: files.get-file
        small-file:
          description: A small file's bytes, in a step
          inputParameters:
            name:
              type: string
              description: The file name
          steps:
            fetch:
              type: call
              call: files.get-small
              with:
                name: "{{name}}"
          mappings:
            - target: name
              value: $.fetch
      resources:
        file:
          display: File
          uri: files://store/{name}
          description: A file's bytes
          binary: true
          call: files.get-file
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, ByteUpstream]]:
    app = ByteUpstream()
    with run_asgi(app) as url:
        yield url, app


@contextlib.contextmanager
def serve(document: m.NaftikoDocument, upstreams: dict[str, str], kind: str) -> Iterator[str]:
    """The document's adapter of ``kind``, its upstream allowed one call at a time (a slot never given
    back would make the next call wait, then fail busy)."""
    cap = capability(document.file, document, {}, upstreams)
    policies = PolicySettings({"*": {"limit": 1, "queue": 0.5, "attempts": 1}})
    runtime = build_runtime(cap, policies=policies)
    adapter = next(a for a in cap.exposes if a.type == kind)
    app = build_app(adapter, runtime, host="127.0.0.1", port=0)
    with serve_app(app, runtime) as url:
        yield url.rstrip("/") + ("/mcp" if kind == "mcp" else "")


@pytest.fixture(scope="module")
def rest(upstream: tuple[str, ByteUpstream]) -> Iterator[str]:
    document = load_text(CAPABILITY, "files.yaml").require()
    with serve(document, {"files": upstream[0]}, "rest") as url:
        yield url


def test_the_capability_is_valid() -> None:
    result = load_text(CAPABILITY, "files.yaml")
    assert result.ok and not result.findings, [f.format() for f in result.findings]


def test_rest_relays_the_bytes_with_the_upstream_media_type_and_length(rest: str) -> None:
    response = httpx.get(f"{rest}/files/doc.pdf", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(PDF))
    assert response.content == PDF


def test_the_declared_binary_response_names_the_media_type(rest: str) -> None:
    response = httpx.get(f"{rest}/documents/big.bin", timeout=10)  # upstream sends no Content-Type
    assert response.status_code == 502  # over the limit: see below; the media type is checked on a fit
    response = httpx.get(f"{rest}/documents/image.png", timeout=10)
    assert response.headers["content-type"] == "application/pdf" and response.content == PNG


def test_an_announced_length_over_the_limit_is_refused_before_reading(rest: str) -> None:
    response = httpx.get(f"{rest}/files/big.bin", timeout=10)
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Upstream body too large"
    assert problem["limit"] == 256 * KiB
    assert problem["detail"] == (
        "files.get-file: the upstream response exceeded maxBinarySize (limit=262144 bytes) "
        f"(it announced {len(BIG)} bytes)"
    )


def test_a_compressed_body_is_relayed_decompressed_with_its_own_length(rest: str) -> None:
    response = httpx.get(f"{rest}/files/gzipped.pdf", timeout=10, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/octet-stream"  # none declared, none sent
    assert "content-encoding" not in response.headers


def test_a_chunked_body_that_fits_is_relayed_whole_with_its_length(rest: str) -> None:
    response = httpx.get(f"{rest}/files/chunked-small.bin", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-test"
    assert response.content == CHUNK * 2 and response.headers["content-length"] == str(2 * len(CHUNK))


def test_a_chunked_body_over_the_limit_within_the_read_ahead_is_a_clean_502(rest: str) -> None:
    response = httpx.get(f"{rest}/small/chunked-small.bin", timeout=10)  # 32 KiB against the op's 1KiB
    assert response.status_code == 502
    assert "exceeded maxBinarySize (limit=1024 bytes)" in response.json()["detail"]


def test_a_chunked_body_over_the_limit_after_the_headers_is_cut_and_logged(
    rest: str, caplog: pytest.LogCaptureFixture
) -> None:
    received = 0
    with caplog.at_level(logging.WARNING, logger="naftiko.rest"):
        with (
            pytest.raises(httpx.RemoteProtocolError),
            httpx.stream("GET", f"{rest}/files/chunked-big.bin") as r,
        ):
            assert r.status_code == 200 and "content-length" not in r.headers
            for chunk in r.iter_bytes():
                received += len(chunk)
    assert 64 * KiB <= received <= 256 * KiB  # never the whole 400 KiB, never a complete-looking body
    assert any(
        "GET /files/{{name}}: files.get-file: the upstream response exceeded maxBinarySize (limit=262144 bytes)"
        in r.getMessage()
        and "the connection is cut" in r.getMessage()
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]


def test_the_body_is_streamed_not_buffered(rest: str, upstream: tuple[str, ByteUpstream]) -> None:
    app = upstream[1]
    app.gate.clear()
    with httpx.stream("GET", f"{rest}/files/gated.bin", timeout=10) as response:
        body = response.iter_bytes()
        first = b""
        while len(first) < 8 * len(CHUNK):  # what the upstream sends before it waits for us
            first += next(body)
        app.gate.set()
        rest_of_it = b"".join(body)
    assert app.finished_before_gate is False  # the caller had bytes while the upstream was mid-body
    assert len(first + rest_of_it) == 16 * len(CHUNK)


def test_an_upstream_error_status_is_the_problem_every_route_answers(rest: str) -> None:
    response = httpx.get(f"{rest}/files/missing", timeout=10)
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["upstreamBody"] == {"error": "no such file"}
    # read whole although it came in two network chunks: half of it would not parse as JSON
    response = httpx.get(f"{rest}/files/gone", timeout=10)
    assert response.status_code == 404 and response.json()["upstreamBody"] == json.loads(ERROR_BODY)


def test_every_stream_gives_its_upstream_slot_back(rest: str) -> None:
    """The upstream takes one call at a time: a stream left holding its slot would make the next wait."""
    for name in ("big.bin", "chunked-small.bin", "missing", "doc.pdf") * 3:
        httpx.get(f"{rest}/files/{name}", timeout=10)
    with contextlib.suppress(httpx.RemoteProtocolError):
        httpx.get(f"{rest}/files/chunked-big.bin", timeout=10)
    with httpx.stream("GET", f"{rest}/files/gated.bin", timeout=10) as response:
        next(response.iter_bytes())  # the caller leaves mid-body
    assert httpx.get(f"{rest}/files/doc.pdf", timeout=10).content == PDF


# --- MCP ------------------------------------------------------------------------------------------------


def _mcp(upstream: str, document: m.NaftikoDocument, calls: Any) -> Any:
    async def go(url: str) -> Any:
        async with Client(url) as client:
            return await calls(client)

    with serve(document, {"files": upstream, "photo-library": upstream}, "mcp") as url:
        return asyncio.run(go(url))


def test_mcp_tools_return_images_as_images_and_other_bytes_as_blob_resources(
    upstream: tuple[str, ByteUpstream],
) -> None:
    document = load_text(CAPABILITY, "files.yaml").require()

    async def calls(client: Client) -> list[mt.CallToolResult]:
        return [
            await client.call_tool("get-file", {"name": name}) for name in ("image.png", "doc.pdf", "big.bin")
        ]

    image, pdf, big = _mcp(upstream[0], document, calls)
    block = image.content[0]
    assert isinstance(block, mt.ImageContent) and not image.is_error
    assert block.mime_type == "image/png" and base64.b64decode(block.data) == PNG
    embedded = pdf.content[0]
    assert isinstance(embedded, mt.EmbeddedResource)
    blob = embedded.resource
    assert isinstance(blob, mt.BlobResourceContents) and blob.mime_type == "application/pdf"
    assert str(blob.uri).startswith("ikanos://transient/files-mcp/get-file/")
    assert base64.b64decode(blob.blob) == PDF
    assert big.is_error
    text = big.content[0]
    assert isinstance(text, mt.TextContent)
    assert "exceeded maxBinarySize (limit=262144 bytes)" in text.text


def test_mcp_resources_read_binary_bodies_as_blobs(upstream: tuple[str, ByteUpstream]) -> None:
    document = load_text(CAPABILITY, "files.yaml").require()

    async def calls(client: Client) -> Any:
        read = await client.read_resource("files://store/doc.pdf")
        try:
            await client.read_resource("files://store/chunked-big.bin")
        except Exception as exc:  # the SDK raises the JSON-RPC error
            return read, str(exc)
        return read, None

    read, error = _mcp(upstream[0], document, calls)
    (contents,) = read.contents
    assert isinstance(contents, mt.BlobResourceContents) and contents.mime_type == "application/pdf"
    assert base64.b64decode(contents.blob) == PDF
    assert error is not None and "exceeded maxBinarySize (limit=262144 bytes)" in error


# --- the corpus example ---------------------------------------------------------------------------------

EXAMPLE = CONFORMANCE / "ikanos-beta5" / "schema" / "examples" / "capability-binary-content.yml"


@requires_shared
def test_the_corpus_example_serves_bytes_over_rest_and_mcp(upstream: tuple[str, ByteUpstream]) -> None:
    document = load_file(EXAMPLE).require()
    with serve(document, {"photo-library": upstream[0]}, "rest") as url:
        image = httpx.get(f"{url}/photos/42/image", timeout=10)
        thumbnail = httpx.get(f"{url}/photos/42/thumbnail", timeout=10)
    for response in (image, thumbnail):  # outputMediaType wins over the upstream's image/png
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.content == PNG

    async def calls(client: Client) -> Any:
        return await client.call_tool("get-photo", {"id": "42"}), await client.read_resource(
            "photos://library/42/bytes"
        )

    tool, read = _mcp(upstream[0], document, calls)
    block = tool.content[0]
    assert isinstance(block, mt.ImageContent) and block.mime_type == "image/jpeg"
    assert base64.b64decode(block.data) == PNG
    (contents,) = read.contents
    assert isinstance(contents, mt.BlobResourceContents) and contents.mime_type == "image/jpeg"
    assert base64.b64decode(contents.blob) == PNG


@requires_shared
def test_the_corpus_example_documents_its_binary_responses_in_openapi(tmp_path: Path) -> None:
    document = load_file(EXAMPLE).require()
    with serve(document, {"photo-library": "http://127.0.0.1:9"}, "rest") as url:
        spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    image = spec["paths"]["/photos/{id}/image"]["get"]["responses"]
    assert image["200"]["content"] == {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}
    assert image["404"]["content"] == {"application/json": {"schema": {"type": "object"}}}
    thumbnail = spec["paths"]["/photos/{id}/thumbnail"]["get"]["responses"]["200"]
    assert thumbnail["description"] == "Thumbnail image bytes."
    assert thumbnail["content"] == {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}


def test_converting_to_alpha2_refuses_every_binary_feature_at_its_place() -> None:
    converted, findings = convert_text(CAPABILITY, "alpha2", "files.yaml")
    assert converted is None
    ops = "$.capability.consumes[0].resources"
    assert [f.format() for f in findings] == [
        f"files.yaml:16:32  {ops}.file.operations['get-file'].outputRawFormat  error: alpha2 cannot express binary content",
        f"files.yaml:25:32  {ops}.small.operations['get-small'].outputRawFormat  error: alpha2 cannot express binary content",
        f"files.yaml:26:15  {ops}.small.operations['get-small'].maxBinarySize  error: alpha2 cannot express maxBinarySize",
        "files.yaml:34:7  $.capability.exposes[0].maxBinarySize  error: alpha2 cannot express maxBinarySize",
        "files.yaml:48:15  $.capability.exposes[0].resources.documents.operations['get-document'].responseBinary  "
        "error: alpha2 cannot express responseBinary",
        "files.yaml:59:7  $.capability.exposes[1].maxBinarySize  error: alpha2 cannot express maxBinarySize",
        "files.yaml:88:11  $.capability.exposes[1].resources.file.binary  error: alpha2 cannot express binary content",
    ]


def test_a_size_without_a_unit_is_refused_at_its_place() -> None:
    result = load_text(CAPABILITY.replace("maxBinarySize: 1KiB", "maxBinarySize: 1024"), "files.yaml")
    assert [f.format() for f in result.findings] == [
        "files.yaml:26:30  $.capability.consumes[0].resources.small.operations['get-small'].maxBinarySize  "
        "error: maxBinarySize is a size with a unit (B, KiB, MiB or GiB; 1024-based), got 1024"
    ]


def test_in_a_step_a_binary_body_is_its_base64_text_under_the_limit(
    upstream: tuple[str, ByteUpstream],
) -> None:
    document = load_text(CAPABILITY, "files.yaml").require()

    async def calls(client: Client) -> list[mt.CallToolResult]:
        return [await client.call_tool("small-file", {"name": n}) for n in ("tiny.txt", "chunked-small.bin")]

    tiny, over = _mcp(upstream[0], document, calls)
    assert not tiny.is_error and tiny.structured_content == {"name": base64.b64encode(TINY).decode()}
    assert over.is_error
    text = over.content[0]
    assert isinstance(text, mt.TextContent) and "exceeded maxBinarySize (limit=1024 bytes)" in text.text


def test_a_binary_resource_over_an_operation_that_is_not_is_a_warning() -> None:
    text = CAPABILITY.replace(
        "          binary: true\n          call: files.get-file",
        "          binary: true\n          call: files.get-json",
    )
    text = text.replace(
        "        small:\n          path: /small/{{name}}",
        "        json:\n          path: /json\n          operations:\n            get-json:\n              method: GET\n"
        "        small:\n          path: /small/{{name}}",
    )
    found = [f.format() for f in check_adapters(load_text(text, "files.yaml"))]
    assert found == [
        "files.yaml:98:19  $.capability.exposes[1].resources.file.binary  warning: MCP resource 'file': binary has "
        "no effect: files.get-json answers outputRawFormat json, so the resource is read as text"
    ]
