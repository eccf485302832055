"""outputRawFormat decoders: the corpus's sample payloads, the corpus's format fixtures served against a
local upstream, and hostile payloads that must end as a clean upstream-payload error."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import fastavro
import pytest
import yaml

from naftiko_runtime import formats
from naftiko_runtime.errors import SpecFileError
from naftiko_runtime.formats import DECODERS, PayloadError
from naftiko_runtime.spec.loader import load_text

from .conftest import ServeAdapter
from .support import CONFORMANCE, requires_shared, run_asgi
from .test_rest import serve_rest
from .upstreams import scripted_app

SAMPLES = CONFORMANCE / "ikanos-beta5" / "engine" / "schemas"
FIXTURES = CONFORMANCE / "capabilities" / "framework-alpha2" / "formats"
USERS = [
    {"id": "1", "name": "Alice Smith", "email": "alice@example.com"},
    {"id": "2", "name": "Bob Johnson", "email": "bob@example.com"},
    {"id": "3", "name": "Carol White", "email": "carol@example.com"},
]


def decode(fmt: str, body: bytes, schema: str | None = None, content_type: str = "") -> Any:
    return formats.decode(fmt, body, content_type, formats.prepare(fmt, schema, SAMPLES))


def proto_records(schema: Path) -> Any:
    return formats.prepare("protobuf", str(schema), schema.parent)["schema"]


# --- the sample payloads --------------------------------------------------------------------------------


@requires_shared
@pytest.mark.parametrize("fmt", ["csv", "tsv", "psv"])
def test_delimited_samples_become_rows_keyed_by_the_header(fmt: str) -> None:
    assert decode(fmt, (SAMPLES / f"sample-users.{fmt}").read_bytes()) == USERS


@requires_shared
def test_html_tables_selected_by_the_output_schema_selector() -> None:
    body = (SAMPLES / "sample-products.html").read_bytes()
    expected = [
        {"Name": "Widget", "Price": "$42", "Stock": "150"},
        {"Name": "Gadget", "Price": "$99", "Stock": "30"},
    ]
    assert decode("html", body, "table.products") == {"tables": [expected]}
    assert decode("html", body, "section.inventory") == {"tables": [expected]}
    assert decode("html", body, "table.orders") == {"tables": []}
    assert decode("html", body) == {"tables": [expected]}


@requires_shared
def test_markdown_front_matter_tables_and_sections() -> None:
    assert decode("markdown", (SAMPLES / "sample-readme.md").read_bytes()) == {
        "frontMatter": {"title": "Product Release Notes", "version": "2.1.0"},
        "tables": [
            [{"Feature": "HTML support", "Status": "GA"}, {"Feature": "Markdown support", "Status": "Beta"}]
        ],
        "sections": [
            {
                "heading": "Overview",
                "level": 2,
                "content": "This release introduces table extraction for markdown.",
            }
        ],
    }


def test_markdown_sections_filtered_by_heading_prefix() -> None:
    body = b"# API\nintro\n## API v1\nold\n## Changelog\n- one\n- two\n"
    assert decode("markdown", body, "API")["sections"] == [
        {"heading": "API", "level": 1, "content": "intro"},
        {"heading": "API v1", "level": 2, "content": "old"},
    ]
    assert decode("markdown", body)["sections"][2] == {
        "heading": "Changelog",
        "level": 2,
        "content": "one two",
    }


@requires_shared
def test_avro_datum_read_with_its_schema_file_and_a_container_with_its_own() -> None:
    schema = formats.prepare("avro", "test-records.avsc", SAMPLES)["schema"]
    value = {
        "records": [
            {"id": "r1", "title": "One", "description": None},
            {"id": "r2", "title": "Two", "description": "2"},
        ]
    }
    datum = io.BytesIO()
    fastavro.schemaless_writer(datum, schema, value)
    assert decode("avro", datum.getvalue(), "test-records.avsc") == value
    container = io.BytesIO()
    fastavro.writer(container, schema, [value])
    assert decode("avro", container.getvalue()) == value


@requires_shared
def test_protobuf_message_read_with_its_proto_and_by_field_number_without() -> None:
    records = proto_records(SAMPLES / "test-records.proto")
    msg = records()
    for i in (1, 2):
        r = msg.records.add()
        r.id, r.title, r.description = f"r{i}", f"Title {i}", f"about {i}"
    body = msg.SerializeToString()
    assert decode("protobuf", body, "test-records.proto") == {
        "records": [
            {"id": "r1", "title": "Title 1", "description": "about 1"},
            {"id": "r2", "title": "Title 2", "description": "about 2"},
        ]
    }
    assert decode("protobuf", body) == {
        "1": [{"1": "r1", "2": "Title 1", "3": "about 1"}, {"1": "r2", "2": "Title 2", "3": "about 2"}]
    }


def test_protobuf_maps_enums_nested_and_a_chosen_message(tmp_path: Path) -> None:
    (tmp_path / "shop.proto").write_text(
        'syntax = "proto3";\npackage shop;\nmessage Other { string x = 1; }\n'
        "enum State { UNKNOWN = 0; OPEN = 1; }\n"
        "message Order { int64 id = 1; State state = 2; map<string, int32> qty = 3; bytes tag = 4; Other o = 5; }\n"
    )
    order = formats.prepare("protobuf", "shop.proto#Order", tmp_path)
    msg = order["schema"](id=2**40, state=1, qty={"a": 2}, tag=b"\x00\x01", o={"x": "y"})
    assert formats.decode("protobuf", msg.SerializeToString(), "", order) == {
        "id": 2**40,
        "state": "OPEN",
        "qty": {"a": 2},
        "tag": "AAE=",
        "o": {"x": "y"},
    }


def test_unusable_schema_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "bad.proto").write_text("message {")
    (tmp_path / "bad.avsc").write_text('{"type": "record"}')
    with pytest.raises(formats.SchemaFileError, match="bad.proto does not compile"):
        formats.prepare("protobuf", "bad.proto", tmp_path)
    with pytest.raises(formats.SchemaFileError, match="bad.avsc is not valid"):
        formats.prepare("avro", "bad.avsc", tmp_path)
    with pytest.raises(formats.SchemaFileError, match="is not a CSS selector"):
        formats.prepare("html", "table[", tmp_path)


# --- the corpus's format fixtures, served -----------------------------------------------------------------

#: fixture -> (the sample payload, the outputSchema the test supplies, the exposed path, expected result)
SERVED = {
    "csv": ("sample-users.csv", None, "/csv/users", USERS),
    "tsv": ("sample-users.tsv", None, "/csv/users", USERS),
    "psv": ("sample-users.psv", None, "/csv/users", USERS),
    "yaml": ("sample-users.yaml", None, "/yaml/users", USERS),
    "html": (
        "sample-products.html",
        None,
        "/html/products",
        [
            {"name": "Widget", "price": "$42", "stock": "150"},
            {"name": "Gadget", "price": "$99", "stock": "30"},
        ],
    ),
    "markdown": (
        "sample-readme.md",
        None,
        "/markdown/features",
        [{"feature": "HTML support", "status": "GA"}, {"feature": "Markdown support", "status": "Beta"}],
    ),
    "avro": ("avro", "test-records.avsc", "/avro/records", None),
    "proto": ("protobuf", "test-records.proto", "/proto/records", None),
}
RECORDS = [
    {"id": "r1", "title": "One", "description": "first"},
    {"id": "r2", "title": "Two", "description": "second"},
]


def _binary(kind: str) -> bytes:
    if kind == "avro":
        schema = formats.prepare("avro", "test-records.avsc", SAMPLES)["schema"]
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema, {"records": RECORDS})
        return out.getvalue()
    msg = proto_records(SAMPLES / "test-records.proto")(records=RECORDS)
    return bytes(msg.SerializeToString())


def _fixture_text(name: str, base_uri: str, schema: str | None) -> str:
    source = {"tsv": "csv", "psv": "csv"}.get(name, name)
    text = (FIXTURES / f"{source}-capability.yaml").read_text()
    if source != name:
        text = text.replace('outputRawFormat: "csv"', f'outputRawFormat: "{name}"')
    text = text.replace('baseUri: "http://localhost:8080"', f'baseUri: "{base_uri}"')
    if schema is not None:
        text = text.replace(
            'outputRawFormat: "', f'outputSchema: "{schema}"\n              outputRawFormat: "'
        )
    return text


@requires_shared
@pytest.mark.parametrize("name", list(SERVED))
def test_format_fixture_serves_the_sample_payload_mapped(serve_adapter: ServeAdapter, name: str) -> None:
    sample, schema, path, expected = SERVED[name]
    body = _binary(sample) if expected is None else (SAMPLES / sample).read_bytes()
    upstream = scripted_app(
        {
            p: (200, "application/octet-stream", body)
            for p in ("/api/users", "/api/records", "/api/products", "/api/readme")
        }
    )
    with run_asgi(upstream) as base:
        result = load_text(_fixture_text(name, base, schema), f"{name}.yaml", base_dir=SAMPLES)
        assert result.ok, [f.format() for f in result.findings]
        assert not result.warnings(), [f.format() for f in result.warnings()]
        with serve_rest(serve_adapter, result.require(), {}, {}) as client:
            response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.json() == (RECORDS if expected is None else expected)


@requires_shared
@pytest.mark.parametrize("name", ["avro", "proto"])
def test_binary_fixtures_without_output_schema_load_with_a_warning_saying_what_is_assumed(name: str) -> None:
    result = load_text((FIXTURES / f"{name}-capability.yaml").read_text(), f"{name}.yaml")
    assert result.ok
    [warning] = result.warnings()
    assert "without outputSchema" in warning.message and warning.line > 1


def test_a_missing_schema_file_is_a_load_error_at_its_line(tmp_path: Path) -> None:
    text = _capability("protobuf", "outputSchema: missing.proto")
    result = load_text(text, "cap.yaml", base_dir=tmp_path)
    [error] = result.errors()
    assert "missing.proto does not exist" in error.message
    assert error.json_path.endswith(".outputSchema") and error.line == 14


def test_a_bad_selector_stops_the_runtime_before_serving(tmp_path: Path) -> None:
    doc = load_text(_capability("html", "outputSchema: 'table['"), "cap.yaml", base_dir=tmp_path).require()
    from naftiko_runtime.engine import Runtime

    with pytest.raises(
        SpecFileError,
        match=r"cap.yaml: \$\.capability\.consumes\[0\].*outputSchema: 'table\[' is not a CSS selector",
    ):
        Runtime(doc)


# --- hostile payloads -------------------------------------------------------------------------------------


def _capability(fmt: str, extra: str = "") -> str:
    return f"""\
naftiko: 1.0.0-alpha2
info: {{label: Hostile, description: payloads}}
capability:
  consumes:
  - type: http
    namespace: up
    baseUri: http://upstream.invalid
    resources:
    - name: data
      path: /data
      operations:
      - name: get-data
        outputRawFormat: {fmt}
        {extra}
  exposes:
  - type: rest
    namespace: api
    port: 8080
    resources:
    - path: /data
      name: data
      operations:
      - method: GET
        call: up.get-data
        outputParameters: [{{type: object, mapping: $}}]
"""


DEEP = 200_000
HOSTILE = {
    "csv huge": ("csv", b"a,b\n" + b"1,2\n" * (5 * 1024 * 1024), "over the 16 MiB"),
    "csv ragged": ("csv", b"a,b\n1,2,3\n", "line 2 has 3 fields, the header 2"),
    "csv bad quote": ("csv", b'a,b\n"1,2\n', "malformed CSV"),
    "csv not utf-8": ("csv", b"a,b\n\xff\xfe,1\n", "not valid utf-8 text"),
    "xml entity expansion": (
        "xml",
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>',
        "DOCTYPE",
    ),
    "xml deep": ("xml", b"<a>" * DEEP + b"</a>" * DEEP, "nested too deeply"),
    "xml malformed": ("xml", b"<r><unclosed></r>", "not well-formed"),
    "yaml alias bomb": ("yaml", b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "alias"),
    "yaml deep": ("yaml", b"[" * DEEP, "nested too deeply"),
    "json deep": ("json", b"[" * DEEP + b"]" * DEEP, "nested too deeply"),
    "markdown alias in front matter": ("markdown", b"---\na: &x [1]\nb: *x\n---\n# t\n", "alias"),
    "markdown deep": ("markdown", b">" * DEEP + b" x\n" + b"- " * 5000 + b"x\n", None),
    "html deep": (
        "html",
        b"<div>" * DEEP + b"<table><tr><th>h</th></tr><tr><td>v</td></tr></table>",
        "deeper than 512",
    ),
    "html deep inline": (
        "html",
        b"<span>" * DEEP + b"<table><tr><th>h</th></tr><tr><td>v</td></tr></table>",
        None,
    ),
    "avro truncated": ("avro", b"Obj\x01\x04\x14avro.codec", "not valid Avro"),
    "protobuf garbage": (
        "protobuf",
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        "not a protobuf message",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_payloads_end_as_a_clean_upstream_payload_error(
    serve_adapter: ServeAdapter, case: str
) -> None:
    fmt, body, reason = HOSTILE[case]
    doc = load_text(_capability(fmt), "hostile.yaml").require()
    upstream = scripted_app({"/data": (200, "text/plain", body)})
    with run_asgi(upstream) as base, serve_rest(serve_adapter, doc, {}, {"up": base}) as client:
        response = client.get("/data")
    if reason is None:  # parsers that bound their own depth read these without harm
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 502, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["detail"].startswith("up.get-data answered HTTP 200 with ")
    assert reason in problem["detail"]
    assert "Traceback" not in response.text


def test_text_formats_follow_the_declared_charset() -> None:
    body = "id;name\n1;Zoë\n".replace(";", ",").encode("latin-1")
    assert decode("csv", body, content_type="text/csv; charset=ISO-8859-1") == [{"id": "1", "name": "Zoë"}]
    with pytest.raises(PayloadError):
        decode("csv", body)


def test_yaml_without_aliases_still_reads_plain_documents() -> None:
    assert decode("yaml", yaml.safe_dump({"a": [1, {"b": "c"}]}).encode()) == {"a": [1, {"b": "c"}]}


# --- one signature for every decoder -------------------------------------------------------------------


def xml_to_json(body: bytes) -> object:
    return DECODERS["xml"](body, "application/xml", {})


def test_root_dropped_repeated_children_become_arrays_attributes_fields() -> None:
    body = b"""<?xml version="1.0"?>
    <vessels xmlns="urn:x">
      <vessel code="L-1"><name>Old Faithful</name><crew><id>c1</id><id>c2</id></crew></vessel>
      <vessel code="L-2"><name>Sea Breeze</name><note lang="en">slow</note></vessel>
    </vessels>"""
    assert xml_to_json(body) == {
        "vessel": [
            {"code": "L-1", "name": "Old Faithful", "crew": {"id": ["c1", "c2"]}},
            {"code": "L-2", "name": "Sea Breeze", "note": {"lang": "en", "": "slow"}},
        ]
    }


def test_a_single_text_root_is_a_string() -> None:
    assert xml_to_json(b"<status>ok</status>") == "ok"


@pytest.mark.parametrize(
    "body",
    [b'<!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>', b"<r><unclosed></r>", b"not xml"],
)
def test_doctype_and_malformed_xml_are_refused(body: bytes) -> None:
    with pytest.raises(PayloadError):
        xml_to_json(body)


@pytest.mark.parametrize(
    ("fmt", "content_type", "body", "expected"),
    [
        ("json", "application/json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("yaml", "application/yaml", b"a:\n- 1\n- 2\n", {"a": [1, 2]}),
        ("yaml", "application/json", b'{"a": [1, 2]}', {"a": [1, 2]}),
        ("xml", "application/xml", b"<r><a>1</a><a>2</a></r>", {"a": ["1", "2"]}),
    ],
)
def test_every_format_decodes_bytes_with_one_signature(
    fmt: str, content_type: str, body: bytes, expected: object
) -> None:
    assert DECODERS[fmt](body, content_type, {}) == expected


@pytest.mark.parametrize(
    ("fmt", "body", "message"),
    [
        ("json", b"<html>", "text/html that is not JSON"),
        ("yaml", b"a: [1\n", "text/html that is neither JSON nor YAML"),
        ("xml", b"{}", "a body that is not the XML it declares: not well-formed XML"),
    ],
)
def test_a_body_that_is_not_its_format_is_a_payload_error(fmt: str, body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match="^" + message):
        DECODERS[fmt](body, "text/html; charset=utf-8", {})
