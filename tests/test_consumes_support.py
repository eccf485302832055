"""Load-time support checks: a consumer feature with no row in the runtime's tables is a positioned finding.

The same tables serve requests, so a row added for a format or a scheme both silences the finding and
runs on the wire (the last two tests add rows the way a new module would).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from naftiko_runtime.binds import resolve_binds
from naftiko_runtime.consumes import check_support
from naftiko_runtime.consumes.auth import OUTBOUND_AUTH
from naftiko_runtime.consumes.placement import Outgoing, Scopes
from naftiko_runtime.engine import Runtime
from naftiko_runtime.errors import UnsupportedFeatureError
from naftiko_runtime.formats import DECODERS
from naftiko_runtime.spec.loader import load_file, load_text
from naftiko_runtime.spec.model import Invocable

from .support import run_asgi
from .test_consumes_http import capability
from .upstreams import scripted_app

CONSUMER = """\
- type: http
  namespace: api
  baseUri: http://h
  authentication:
    type: {auth}
    authorizationServerUri: https://auth.example.com
    resource: https://api.example.com
    token: t
  resources:
  - name: r
    path: /r
    operations:
    - name: op
      outputRawFormat: {fmt}
      inputParameters:
      - name: {header}
        in: header
"""


def consumer(auth: str = "bearer", fmt: str = "json", header: str = "X-Ok") -> str:
    return CONSUMER.format(auth=auth, fmt=fmt, header=header)


def findings(text: str, **kwargs: Any) -> list[str]:
    result = load_text(text, "cap.yaml")
    assert result.ok, [f.format() for f in result.findings if f.severity == "error"]
    return [f.format() for f in check_support(result, **kwargs)]


def test_a_document_the_runtime_fully_supports_has_no_findings() -> None:
    assert findings(capability(consumer())) == []


#: every format of the spec has a decoder, so a missing one is simulated by taking its row out
@pytest.fixture
def no_csv_avro_html(monkeypatch: pytest.MonkeyPatch) -> None:
    for fmt in ("csv", "avro", "html"):
        monkeypatch.delitem(DECODERS, fmt)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("no_csv_avro_html")
def test_an_output_format_with_no_decoder_is_an_error_at_its_line() -> None:
    assert findings(capability(consumer(fmt="csv"))) == [
        "cap.yaml:18:26  $.capability.consumes[0].resources[0].operations[0].outputRawFormat  error: "
        "outputRawFormat 'csv' is not supported by this runtime "
        "(supported: binary, json, markdown, protobuf, psv, tsv, xml, yaml)"
    ]


@pytest.mark.usefixtures("no_csv_avro_html")
def test_validate_can_take_the_same_findings_as_warnings() -> None:
    found = findings(capability(consumer(fmt="avro")), severity="warning")
    assert len(found) == 1 and "  warning: outputRawFormat 'avro' is not supported" in found[0]


def test_an_outbound_auth_type_with_no_row_is_an_error_and_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(OUTBOUND_AUTH, "digest")  # every alpha2 type has a row: take one away
    text = capability(consumer(auth="digest"))
    assert findings(text) == [
        "cap.yaml:9:13  $.capability.consumes[0].authentication.type  error: outbound digest "
        "authentication is not supported by this runtime (supported: apikey, basic, bearer, oauth2)"
    ]
    with pytest.raises(UnsupportedFeatureError, match="outbound digest authentication"):
        Runtime(load_text(text, "cap.yaml").require())


def test_a_header_name_that_is_no_http_token_is_an_error() -> None:
    (found,) = findings(capability(consumer(header="'X Bad:'")))
    assert found.endswith(
        "$.capability.consumes[0].resources[0].operations[0].inputParameters[0].name  error: "
        "header name 'X Bad:' is not a valid HTTP token"
    )


@pytest.mark.usefixtures("no_csv_avro_html")
def test_an_imported_consumer_is_reported_in_its_own_file(tmp_path: Path) -> None:
    shared = "naftiko: 1.0.0-alpha2\nconsumes:\n" + consumer(fmt="html")
    (tmp_path / "shared.yaml").write_text(shared)
    main = capability("- location: ./shared.yaml\n  import: api\n")
    (tmp_path / "cap.yaml").write_text(main)
    result = load_file(tmp_path / "cap.yaml", display_name="cap.yaml")
    assert result.ok, [f.format() for f in result.findings]
    (finding,) = check_support(result)
    assert finding.file.endswith("shared.yaml") and (finding.line, finding.column) == (16, 24)
    assert finding.json_path == "$.consumes[0].resources[0].operations[0].outputRawFormat"


def test_a_decoder_row_is_all_a_new_format_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    def decode_csv(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
        header, *rows = [line.split(",") for line in body.decode().splitlines()]
        return [dict(zip(header, row, strict=True)) for row in rows]

    monkeypatch.setitem(DECODERS, "csv", decode_csv)  # type: ignore[arg-type]
    text = capability(consumer(fmt="csv"))
    assert findings(text) == []
    doc = load_text(text, "cap.yaml").require()

    async def go(url: str) -> Any:
        async with Runtime(doc, upstreams={"api": url}) as rt:
            from naftiko_runtime.spec.model import OutputParameter

            out = (OutputParameter("array", mapping="$"),)
            inv = rt.invocation("t", Invocable(call="api.op", output_parameters=out))
            return (await inv.run({})).value()

    with run_asgi(scripted_app({"/r": (200, "text/csv", "a,b\n1,2\n3,4")})) as url:
        assert asyncio.run(go(url)) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


class _StaticToken:
    """A stand-in for a token-fetching scheme: compiled once, applied per request."""

    def __init__(self, auth: Any, bind_scopes: Scopes) -> None:
        self.secrets = ("from-the-token-endpoint",)

    def apply(self, out: Outgoing, scopes: Scopes) -> None:
        out.headers["Authorization"] = "Bearer from-the-token-endpoint"


@pytest.fixture
def echo() -> Iterator[str]:
    from .upstreams import echo_app

    with run_asgi(echo_app()) as url:
        yield url


def test_an_auth_row_is_all_a_new_scheme_needs(monkeypatch: pytest.MonkeyPatch, echo: str) -> None:
    monkeypatch.setitem(OUTBOUND_AUTH, "digest", _StaticToken)  # type: ignore[arg-type]
    text = capability(consumer(auth="digest"))
    assert findings(text) == []
    doc = load_text(text, "cap.yaml").require()

    async def go() -> Any:
        async with Runtime(doc, resolve_binds(doc, {}), upstreams={"api": echo}) as rt:
            inv = rt.invocation("t", Invocable(call="api.op"))
            outcome = await inv.run({})
            return outcome.value()

    assert asyncio.run(go())["headers"]["authorization"] == "Bearer from-the-token-endpoint"
