"""Differential test: our schema gives the same verdict as the official alpha2 schema, document by document.

Cases: every corpus document that declares alpha2; the alpha1/alpha3/0.5 documents with their version
replaced by alpha2; the seed capability (and a hand-fixed copy); and mutations generated from valid corpus
documents and the seed. Every mutation also states the verdict we expect, checked against the official schema,
so a mutation that does not do what its name says fails loudly instead of silently testing nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from naftiko_runtime.spec.schema import get_validator, schema_issues

from .support import CONFORMANCE, SHARED, requires_shared, seed_capability_text

CORPUS = CONFORMANCE / "capabilities"
OFFICIAL_SCHEMA = CONFORMANCE / "schema" / "naftiko-schema-1.0.0-alpha2.json"
ALPHA2 = "1.0.0-alpha2"


class CorpusLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver: unquoted dates stay strings (as under Jackson/SnakeYAML)."""


CorpusLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_first_document(text: str) -> Any:
    return next(iter(yaml.load_all(text, Loader=CorpusLoader)), None)


@cache
def official_validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8")))


@cache
def corpus_documents() -> dict[str, Any]:
    """Corpus file (relative path) -> its first YAML document, for every Naftiko document in the corpus."""
    docs: dict[str, Any] = {}
    for path in sorted([*CORPUS.rglob("*.yaml"), *CORPUS.rglob("*.yml")]):
        doc = load_first_document(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "naftiko" in doc:
            docs[path.relative_to(CORPUS).as_posix()] = doc
    return docs


def fixed_seed(doc: dict[str, Any]) -> dict[str, Any]:
    """The seed with its three kinds of schema errors repaired (the spec's "adding properties: {}" fix)."""
    capability = doc["capability"]
    for resource in capability["consumes"][0]["resources"]:
        for operation in resource["operations"]:
            for param in operation.get("inputParameters", []):
                param.pop("type", None)
                param.pop("required", None)
    rest, mcp = capability["exposes"]
    rest.pop("description")
    for resource in rest["resources"]:
        for operation in resource["operations"]:
            for output in operation["outputParameters"]:
                output["properties"] = {}
    for tool in mcp["tools"]:
        for output in tool["outputParameters"]:
            output["properties"] = {}
    return doc


@cache
def base_documents() -> dict[str, Any]:
    bases = dict(corpus_documents())
    bases["seed"] = load_first_document(seed_capability_text())
    bases["seed-fixed"] = fixed_seed(copy.deepcopy(bases["seed"]))
    bases["seed-core"] = seed_core(copy.deepcopy(bases["seed-fixed"]))
    bases["step-10-aggregates"] = {
        **copy.deepcopy(bases[T10]),
        "capability": {
            key: value for key, value in copy.deepcopy(bases[T10]["capability"]).items() if key != "exposes"
        },
    }
    return bases


def seed_core(doc: dict[str, Any]) -> dict[str, Any]:
    """The fixed seed cut down (2 consumed resources, 1 REST resource, 1 MCP tool) to keep mutations fast."""
    capability = doc["capability"]
    del capability["consumes"][0]["resources"][2:]
    del capability["exposes"][0]["resources"][1:]
    del capability["exposes"][1]["tools"][1:]
    return doc


# --------------------------------------------------------------------------- mutation helpers

Edit = Callable[[Any], Any]


def _parts(path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in path.split("/")] if path else []


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _parts(path):
        node = node[part]
    return node


def setv(path: str, value: Any) -> Edit:
    def edit(doc: Any) -> None:
        *head, last = _parts(path)
        node = doc
        for part in head:
            node = node[part]
        node[last] = copy.deepcopy(value)

    return edit


def drop(*paths: str) -> Edit:
    def edit(doc: Any) -> None:
        for path in paths:
            *head, last = _parts(path)
            node = doc
            for part in head:
                node = node[part]
            del node[last]

    return edit


def append(path: str, value: Any) -> Edit:
    def edit(doc: Any) -> None:
        _get(doc, path).append(copy.deepcopy(value))

    return edit


@dataclass(frozen=True)
class Replaced:
    """Returned by an edit that replaces the whole document (possibly by None)."""

    value: Any


def replace_doc(value: Any) -> Edit:
    def edit(doc: Any) -> Replaced:
        return Replaced(copy.deepcopy(value))

    return edit


def graft(path: str, base: str, source: str) -> Edit:
    """Set `path` to a copy of the node at `source` in another base document."""

    def edit(doc: Any) -> None:
        setv(path, _get(base_documents()[base], source))(doc)

    return edit


def chain(*edits: Edit) -> Edit:
    def edit(doc: Any) -> Any:
        for step in edits:
            result = step(doc)
            if isinstance(result, Replaced):
                doc = result.value
        return Replaced(doc)

    return edit


@dataclass(frozen=True)
class Mutation:
    name: str
    base: str
    edit: Edit
    valid: bool

    def build(self) -> Any:
        doc = copy.deepcopy(base_documents()[self.base])
        result = self.edit(doc)
        return result.value if isinstance(result, Replaced) else doc


# bases
SEED = "seed-core"
MRP = "framework-alpha2/mcp/mcp-resources-prompts-capability.yaml"
SKILL = "framework-alpha2/skill-capability.yaml"
CTRL = "framework-alpha2/control/control-scripting-capability.yaml"
OBS = "framework-alpha2/observability/observability-capability.yaml"
MOCK = "framework-alpha2/aggregates/aggregate-shared-mock.yaml"
SCRIPT = "framework-alpha2/schema-examples/script-step.yml"
STDIO = "framework-alpha2/mcp/mcp-stdio-capability.yaml"
T10 = "tutorial/step-10-shipyard-rest-adapter.yml"
AGG = "step-10-aggregates"
REG = "tutorial/shared/registry-consumes.yaml"
FWD = "framework-alpha2/register.capability.yml"

# paths into the (cut-down) fixed seed
CONS = "capability/consumes/0"
COP = f"{CONS}/resources/0/operations/0"  # POST triggerWorkflow
REST = "capability/exposes/0"
RES = f"{REST}/resources/0"
OP = f"{RES}/operations/0"
OUT = f"{OP}/outputParameters/0"
MCP = "capability/exposes/1"
TOOL = f"{MCP}/tools/0"
# paths into other bases
MRP_MCP = "capability/exposes/0"
MRP_RES = f"{MRP_MCP}/resources/0"
MRP_PROMPT = f"{MRP_MCP}/prompts/0"
SKILL_SKILL = "capability/exposes/1/skills/0"
SCRIPT_TOOL = "capability/exposes/1/tools/0"
T10_FN = "capability/aggregates/0/functions/0"
MOCK_FN = "capability/aggregates/0/functions/0"

PERSON = {"role": "owner", "fullName": "Ada Lovelace", "email": "ada.lovelace@example.org"}
MOCK_OUTPUTS = [{"name": "status", "type": "string", "value": "ok"}]
MAPPED_STRING = {"type": "string", "mapping": "$.id"}
ORCH_OUTPUTS = [{"name": "total", "type": "number"}]
STEP_CALL = {"type": "call", "name": "fetch", "call": "inngest-workflow.getCanonicalRun"}
SCRIPT_STEP = {"type": "script", "name": "shape", "file": "shape.js", "language": "javascript"}


def m(name: str, base: str, edit: Edit, valid: bool) -> Mutation:
    return Mutation(name, base, edit, valid)


MUTATIONS: list[Mutation] = [
    # --- root
    m("root-missing-naftiko", SEED, drop("naftiko"), False),
    m("root-version-alpha3", SEED, setv("naftiko", "1.0.0-alpha3"), False),
    m("root-version-not-a-string", SEED, setv("naftiko", 1.0), False),
    m("root-unknown-key", SEED, setv("x-extra", True), False),
    m("root-capability-and-consumes", SEED, graft("consumes", REG, "consumes"), False),
    m("root-neither-capability-nor-consumes", SEED, drop("capability"), False),
    m("root-consumes-with-binds", REG, graft("binds", SEED, "binds"), True),
    m("root-consumes-empty", REG, setv("consumes", []), False),
    m("root-consumes-import-entry", REG, append("consumes", {"import": "x", "location": "./x.yaml"}), True),
    m("root-is-a-list", SEED, replace_doc([{"naftiko": ALPHA2}]), False),
    m("root-is-null", SEED, replace_doc(None), False),
    m("root-without-info", SEED, drop("info"), True),
    # --- info / person
    m("info-missing-description", SEED, drop("info/description"), False),
    m("info-unknown-key", SEED, setv("info/name", "x"), False),
    m("info-created-month-13", SEED, setv("info/created", "2026-13-01"), False),
    m("info-created-unpadded", SEED, setv("info/created", "2026-5-1"), False),
    m("info-created-feb-31-pattern-only", SEED, setv("info/modified", "2026-02-31"), True),
    m("info-created-with-time", SEED, setv("info/created", "2026-05-22T10:00:00Z"), False),
    m("info-tags-not-strings", SEED, setv("info/tags", [1, 2]), False),
    m("info-stakeholder-valid", SEED, setv("info/stakeholders", [PERSON]), True),
    m(
        "info-stakeholder-bad-email",
        SEED,
        setv("info/stakeholders", [{**PERSON, "email": "ada@localhost"}]),
        False,
    ),
    m("info-stakeholder-missing-fullname", SEED, setv("info/stakeholders", [{"role": "owner"}]), False),
    # --- binds
    m("binds-empty", SEED, setv("binds", []), False),
    m("binds-lowercase-variable", SEED, setv("binds/0/keys/notion_token", "x"), False),
    m("binds-value-with-dot", SEED, setv("binds/0/keys/INNGEST_EVENT_KEY", "event.key"), False),
    m("binds-value-with-star-and-underscore", SEED, setv("binds/0/keys/INNGEST_EVENT_KEY", "EVENT_*"), True),
    m("binds-value-not-a-string", SEED, setv("binds/0/keys/INNGEST_EVENT_KEY", 12), False),
    m("binds-location-file-uri", SEED, setv("binds/0/location", "file:///etc/secrets.yaml"), True),
    m("binds-location-without-scheme", SEED, setv("binds/0/location", "./secrets.yaml"), False),
    m("binds-missing-keys", SEED, drop("binds/0/keys"), False),
    m("binds-namespace-trailing-newline", SEED, setv("binds/0/namespace", "env\n"), True),
    m("binds-namespace-inner-newline", SEED, setv("binds/0/namespace", "env\nx"), False),
    m("capability-binds", SEED, graft("capability/binds", SEED, "binds"), True),
    # --- capability
    m("capability-only-aggregates", MOCK, drop("capability/exposes"), False),
    m("capability-consumes-only", SEED, drop("capability/exposes"), True),
    m("capability-exposes-empty", SEED, setv("capability/exposes", []), False),
    m("capability-unknown-key", SEED, setv("capability/name", "x"), False),
    m("capability-aggregates-empty", SEED, setv("capability/aggregates", []), False),
    # --- consumes
    m("consumer-missing-baseuri", SEED, drop(f"{CONS}/baseUri"), False),
    m("consumer-type-grpc", SEED, setv(f"{CONS}/type", "grpc"), False),
    m("consumer-baseuri-with-brace", SEED, setv(f"{CONS}/baseUri", "https://api.inngest.com/{v}"), False),
    m("consumer-baseuri-ftp", SEED, setv(f"{CONS}/baseUri", "ftp://api.inngest.com"), False),
    m("consumer-baseuri-trailing-slash", SEED, setv(f"{CONS}/baseUri", "https://api.inngest.com/v1/"), True),
    m("consumer-resources-empty", SEED, setv(f"{CONS}/resources", []), False),
    m("consumer-resource-missing-path", SEED, drop(f"{CONS}/resources/1/path"), False),
    m("consumer-operations-empty", SEED, setv(f"{CONS}/resources/1/operations", []), False),
    m("consumer-op-method-fetch", SEED, setv(f"{COP}/method", "FETCH"), False),
    m("consumer-op-method-lowercase", SEED, setv(f"{COP}/method", "post"), False),
    m("consumer-op-missing-method", SEED, drop(f"{COP}/method"), False),
    m("consumer-op-name-underscore", SEED, setv(f"{COP}/name", "trigger_workflow"), False),
    m(
        "consumer-input-in-environment",
        SEED,
        append(f"{COP}/inputParameters", {"name": "TOKEN", "in": "environment"}),
        True,
    ),
    m("consumer-input-in-form", SEED, setv(f"{COP}/inputParameters/0/in", "form"), False),
    m("consumer-input-extra-type", SEED, setv(f"{COP}/inputParameters/0/type", "string"), False),
    m("consumer-input-name-star", SEED, setv(f"{COP}/inputParameters/0/name", "X-*_id"), True),
    m("consumer-output-missing-value", SEED, drop(f"{COP}/outputParameters/0/value"), False),
    m("consumer-output-type-integer", SEED, setv(f"{COP}/outputParameters/0/type", "integer"), False),
    m("consumer-output-extra-mapping", SEED, setv(f"{COP}/outputParameters/0/mapping", "$.x"), False),
    m("consumer-raw-format-tsv", SEED, setv(f"{COP}/outputRawFormat", "tsv"), True),
    m("consumer-raw-format-jsonl", SEED, setv(f"{COP}/outputRawFormat", "jsonl"), False),
    m(
        "consumer-import-added",
        SEED,
        append("capability/consumes", {"import": "a", "location": "./a.yml", "as": "b"}),
        True,
    ),
    m(
        "consumer-import-with-type",
        SEED,
        append("capability/consumes", {"import": "a", "location": "./a.yml", "type": "http"}),
        False,
    ),
    m("consumer-import-without-location", SEED, append("capability/consumes", {"import": "a"}), False),
    m(
        "consumer-import-alias-dotted",
        SEED,
        append("capability/consumes", {"import": "a", "location": "./a.yml", "as": "b.c"}),
        False,
    ),
    # --- request bodies
    m("body-raw-string", SEED, setv(f"{COP}/body", '{"name": "{{name}}"}'), True),
    m("body-json-object", SEED, setv(f"{COP}/body", {"type": "json", "data": {"a": 1}}), True),
    m("body-json-string-data", SEED, setv(f"{COP}/body", {"type": "json", "data": "{{body}}"}), True),
    m("body-json-number-data", SEED, setv(f"{COP}/body", {"type": "json", "data": 3}), False),
    m(
        "body-json-extra-key",
        SEED,
        setv(f"{COP}/body", {"type": "json", "data": [], "charset": "utf-8"}),
        False,
    ),
    m("body-json-missing-data", SEED, setv(f"{COP}/body", {"type": "json"}), False),
    m("body-text-object-data", SEED, setv(f"{COP}/body", {"type": "text", "data": {"a": "b"}}), False),
    m("body-xml", SEED, setv(f"{COP}/body", {"type": "xml", "data": "<a/>"}), True),
    m("body-sparql", SEED, setv(f"{COP}/body", {"type": "sparql", "data": "SELECT *"}), True),
    m("body-form-map", SEED, setv(f"{COP}/body", {"type": "formUrlEncoded", "data": {"a": "b"}}), True),
    m(
        "body-form-map-non-string",
        SEED,
        setv(f"{COP}/body", {"type": "formUrlEncoded", "data": {"a": 1}}),
        False,
    ),
    m("body-form-array", SEED, setv(f"{COP}/body", {"type": "formUrlEncoded", "data": ["a"]}), False),
    m(
        "body-multipart",
        SEED,
        setv(
            f"{COP}/body",
            {"type": "multipartForm", "data": [{"name": "f", "value": "v", "filename": "a.txt"}]},
        ),
        True,
    ),
    m(
        "body-multipart-missing-value",
        SEED,
        setv(f"{COP}/body", {"type": "multipartForm", "data": [{"name": "f"}]}),
        False,
    ),
    m("body-type-graphql", SEED, setv(f"{COP}/body", {"type": "graphql", "data": "{ a }"}), False),
    m("body-number", SEED, setv(f"{COP}/body", 42), False),
    m("body-missing-type", SEED, setv(f"{COP}/body", {"data": "x"}), False),
    # --- authentication
    m(
        "auth-apikey-header",
        SEED,
        setv(
            f"{CONS}/authentication", {"type": "apikey", "key": "X-Key", "value": "v", "placement": "header"}
        ),
        True,
    ),
    m(
        "auth-apikey-placement-cookie",
        SEED,
        setv(f"{CONS}/authentication", {"type": "apikey", "placement": "cookie"}),
        False,
    ),
    m("auth-basic-minimal", SEED, setv(f"{CONS}/authentication", {"type": "basic"}), True),
    m(
        "auth-digest",
        SEED,
        setv(f"{CONS}/authentication", {"type": "digest", "username": "u", "password": "p"}),
        True,
    ),
    m("auth-bearer-extra-key", SEED, setv(f"{CONS}/authentication/username", "x"), False),
    m("auth-missing-type", SEED, drop(f"{CONS}/authentication/type"), False),
    m("auth-type-kerberos", SEED, setv(f"{CONS}/authentication/type", "kerberos"), False),
    m(
        "auth-oauth2-inbound",
        SEED,
        setv(
            f"{MCP}/authentication",
            {
                "type": "oauth2",
                "authorizationServerUri": "https://auth.example.com",
                "resource": "https://mcp.example.com",
                "scopes": ["read"],
                "tokenValidation": "introspection",
            },
        ),
        True,
    ),
    m(
        "auth-oauth2-missing-resource",
        SEED,
        setv(
            f"{MCP}/authentication", {"type": "oauth2", "authorizationServerUri": "https://auth.example.com"}
        ),
        False,
    ),
    m(
        "auth-oauth2-uri-not-checked",
        SEED,
        setv(
            f"{MCP}/authentication",
            {"type": "oauth2", "authorizationServerUri": "not a uri", "resource": "::"},
        ),
        True,
    ),
    # --- REST adapter
    m("rest-port-70000", SEED, setv(f"{REST}/port", 70000), False),
    m("rest-port-0", SEED, setv(f"{REST}/port", 0), False),
    m("rest-port-string", SEED, setv(f"{REST}/port", "8080"), False),
    m("rest-port-65535", SEED, setv(f"{REST}/port", 65535), True),
    m("rest-port-integral-float", SEED, setv(f"{REST}/port", 8080.0), True),
    m("rest-port-fractional", SEED, setv(f"{REST}/port", 8080.5), False),
    m("rest-port-boolean", SEED, setv(f"{REST}/port", True), False),
    m("rest-missing-port", SEED, drop(f"{REST}/port"), False),
    m("rest-missing-namespace", SEED, drop(f"{REST}/namespace"), False),
    m("rest-description-not-allowed", SEED, setv(f"{REST}/description", "x"), False),
    m("rest-address-hostname", SEED, setv(f"{REST}/address", "api.example.com"), True),
    m("rest-address-ipv4", SEED, setv(f"{REST}/address", "10.0.0.1"), True),
    m("rest-address-ipv6", SEED, setv(f"{REST}/address", "::1"), True),
    m("rest-address-underscore", SEED, setv(f"{REST}/address", "bad_host"), False),
    m("rest-address-leading-dash", SEED, setv(f"{REST}/address", "-host"), False),
    m("rest-address-url", SEED, setv(f"{REST}/address", "http://localhost"), False),
    m("rest-namespace-underscore", SEED, setv(f"{REST}/namespace", "inngest_rest"), False),
    m("rest-namespace-uppercase", SEED, setv(f"{REST}/namespace", "InngestRest"), True),
    m("rest-type-missing", SEED, drop(f"{REST}/type"), False),
    m("rest-type-graphql", SEED, setv(f"{REST}/type", "graphql"), False),
    m("rest-resources-empty", SEED, setv(f"{REST}/resources", []), False),
    m("rest-resource-no-operations-no-forward", SEED, drop(f"{RES}/operations"), False),
    m("rest-resource-empty-operations", SEED, setv(f"{RES}/operations", []), True),
    m(
        "rest-resource-forward-only",
        SEED,
        chain(drop(f"{RES}/operations"), setv(f"{RES}/forward", {"targetNamespace": "inngest-workflow"})),
        True,
    ),
    m("rest-resource-forward-and-operations", SEED, setv(f"{RES}/forward", {"targetNamespace": "x"}), True),
    m("rest-resource-missing-path", SEED, drop(f"{RES}/path"), False),
    m("forward-missing-target", FWD, drop("capability/exposes/0/resources/0/forward/targetNamespace"), False),
    m(
        "forward-trusted-headers-empty",
        FWD,
        setv("capability/exposes/0/resources/0/forward/trustedHeaders", []),
        False,
    ),
    m("rest-op-method-fetch", SEED, setv(f"{OP}/method", "FETCH"), False),
    m("rest-op-missing-method", SEED, drop(f"{OP}/method"), False),
    m("rest-op-bare-get", SEED, setv(f"{OP}", {"method": "GET"}), True),
    m("rest-op-call-three-segments", SEED, setv(f"{OP}/call", "inngest.workflow.trigger"), False),
    m("rest-op-call-underscore", SEED, setv(f"{OP}/call", "inngest_workflow.triggerWorkflow"), False),
    m("rest-op-call-no-dot", SEED, setv(f"{OP}/call", "triggerWorkflow"), False),
    m(
        "rest-op-ref-ignores-outputs",
        SEED,
        setv(f"{OP}", {"method": "GET", "ref": "agg.fn", "outputParameters": [{"anything": 1}]}),
        True,
    ),
    m(
        "rest-op-steps-orchestrated",
        SEED,
        chain(
            drop(f"{OP}/call"), setv(f"{OP}/steps", [STEP_CALL]), setv(f"{OP}/outputParameters", ORCH_OUTPUTS)
        ),
        True,
    ),
    m(
        "rest-op-steps-orchestrated-without-name",
        SEED,
        chain(
            drop(f"{OP}/call", f"{OP}/name"),
            setv(f"{OP}/steps", [STEP_CALL]),
            setv(f"{OP}/outputParameters", ORCH_OUTPUTS),
        ),
        False,
    ),
    m(
        "rest-op-steps-without-name-mapped-outputs",
        SEED,
        chain(drop(f"{OP}/name"), setv(f"{OP}/steps", [STEP_CALL])),
        True,
    ),
    m("rest-op-with-boolean", SEED, setv(f"{OP}/with/flag", True), False),
    m("rest-op-with-number", SEED, setv(f"{OP}/with/limit", 10), True),
    m(
        "rest-input-valid",
        SEED,
        setv(
            f"{OP}/inputParameters",
            [{"name": "eventkey", "in": "path", "type": "string", "description": "Event key"}],
        ),
        True,
    ),
    m(
        "rest-input-missing-description",
        SEED,
        setv(f"{OP}/inputParameters", [{"name": "eventkey", "in": "path", "type": "string"}]),
        False,
    ),
    m(
        "rest-input-in-environment",
        SEED,
        setv(
            f"{OP}/inputParameters",
            [{"name": "eventkey", "in": "environment", "type": "string", "description": "x"}],
        ),
        False,
    ),
    m(
        "rest-resource-input-integer",
        SEED,
        setv(
            f"{RES}/inputParameters",
            [{"name": "n", "in": "query", "type": "integer", "description": "x", "pattern": "^[0-9]+$"}],
        ),
        True,
    ),
    # --- mapped outputs
    m("mapped-object-without-properties", SEED, drop(f"{OUT}/properties"), False),
    m("mapped-object-with-name", SEED, setv(f"{OUT}/name", "result"), False),
    m("mapped-string-mapping", SEED, setv(OUT, MAPPED_STRING), True),
    m("mapped-string-value-only", SEED, setv(OUT, {"type": "string", "value": "{{x}}"}), True),
    m("mapped-string-mapping-and-value", SEED, setv(OUT, {**MAPPED_STRING, "value": "x"}), False),
    m("mapped-string-neither", SEED, setv(OUT, {"type": "string"}), False),
    m("mapped-number-const-only", SEED, setv(OUT, {"type": "number", "const": 3}), False),
    m(
        "mapped-boolean-with-const",
        SEED,
        setv(OUT, {"type": "boolean", "mapping": "$.ok", "const": True}),
        True,
    ),
    m("mapped-const-null", SEED, setv(OUT, {"type": "boolean", "mapping": "$.ok", "const": None}), False),
    m(
        "mapped-array-items",
        SEED,
        setv(OUT, {"type": "array", "mapping": "$.data", "items": MAPPED_STRING}),
        True,
    ),
    m("mapped-array-missing-items", SEED, setv(OUT, {"type": "array", "mapping": "$.data"}), False),
    m("mapped-array-items-list", SEED, setv(OUT, {"type": "array", "items": [MAPPED_STRING]}), False),
    m("mapped-type-integer", SEED, setv(OUT, {"type": "integer", "mapping": "$.n"}), False),
    m("mapped-missing-type", SEED, setv(OUT, {"mapping": "$.n"}), False),
    m("mapped-nested-bad-child", SEED, setv(f"{OUT}/properties", {"id": {"type": "string"}}), False),
    m("mapped-nested-good-child", SEED, setv(f"{OUT}/properties", {"id": MAPPED_STRING}), True),
    m("mapped-properties-not-object", SEED, setv(f"{OUT}/properties", []), False),
    # --- MCP adapter
    m("mcp-stdio-with-port", SEED, setv(f"{MCP}/transport", "stdio"), False),
    m("mcp-stdio-without-port", SEED, chain(setv(f"{MCP}/transport", "stdio"), drop(f"{MCP}/port")), True),
    m("mcp-no-transport-no-port", SEED, drop(f"{MCP}/transport", f"{MCP}/port"), False),
    m("mcp-http-without-port", SEED, drop(f"{MCP}/port"), False),
    m("mcp-port-without-transport", SEED, drop(f"{MCP}/transport"), True),
    m("mcp-transport-sse", SEED, setv(f"{MCP}/transport", "sse"), False),
    m("mcp-stdio-corpus-with-port", STDIO, setv("capability/exposes/0/port", 3000), False),
    m("mcp-port-70000", SEED, setv(f"{MCP}/port", 70000), False),
    m("mcp-tools-empty", SEED, setv(f"{MCP}/tools", []), False),
    m("mcp-missing-tools", SEED, drop(f"{MCP}/tools"), False),
    m("mcp-address-ipv6-full", SEED, setv(f"{MCP}/address", "2001:db8:0:0:0:0:0:1"), True),
    m("tool-ref-only", SEED, setv(TOOL, {"ref": "agg.fn"}), True),
    m("tool-ref-and-call", SEED, setv(f"{TOOL}/ref", "agg.fn"), True),
    m("tool-no-handler", SEED, drop(f"{TOOL}/call", f"{TOOL}/with", f"{TOOL}/outputParameters"), False),
    m(
        "tool-mock-outputs",
        SEED,
        chain(drop(f"{TOOL}/call", f"{TOOL}/with"), setv(f"{TOOL}/outputParameters", MOCK_OUTPUTS)),
        True,
    ),
    m(
        "tool-mock-outputs-empty",
        SEED,
        chain(drop(f"{TOOL}/call", f"{TOOL}/with"), setv(f"{TOOL}/outputParameters", [])),
        False,
    ),
    m("tool-call-with-mock-outputs", SEED, setv(f"{TOOL}/outputParameters", MOCK_OUTPUTS), True),
    m("tool-call-mixed-mapped-and-mock", SEED, append(f"{TOOL}/outputParameters", MOCK_OUTPUTS[0]), False),
    m("tool-call-empty-outputs", SEED, setv(f"{TOOL}/outputParameters", []), True),
    m("tool-missing-description", SEED, drop(f"{TOOL}/description"), False),
    m("tool-missing-name", SEED, drop(f"{TOOL}/name"), False),
    m("tool-name-underscore", SEED, setv(f"{TOOL}/name", "trigger_workflow"), False),
    m("tool-hints-unknown-key", SEED, setv(f"{TOOL}/hints/cached", True), False),
    m("tool-hints-not-boolean", SEED, setv(f"{TOOL}/hints/readOnly", "yes"), False),
    m(
        "tool-steps-orchestrated",
        SEED,
        chain(
            drop(f"{TOOL}/call", f"{TOOL}/with"),
            setv(f"{TOOL}/steps", [STEP_CALL]),
            setv(f"{TOOL}/outputParameters", ORCH_OUTPUTS),
        ),
        True,
    ),
    m(
        "tool-steps-mapped-outputs",
        SEED,
        chain(drop(f"{TOOL}/call", f"{TOOL}/with"), setv(f"{TOOL}/steps", [STEP_CALL])),
        False,
    ),
    m("tool-steps-mock-outputs", SCRIPT, setv(f"{SCRIPT_TOOL}/outputParameters", MOCK_OUTPUTS), True),
    m(
        "tool-steps-mixed-orchestrated-and-mock",
        SCRIPT,
        append(f"{SCRIPT_TOOL}/outputParameters", MOCK_OUTPUTS[0]),
        False,
    ),
    m(
        "tool-call-and-steps-orchestrated",
        SCRIPT,
        setv(f"{SCRIPT_TOOL}/call", "github.list-org-members"),
        True,
    ),
    m("tool-call-and-steps-mapped", SEED, setv(f"{TOOL}/steps", [STEP_CALL]), True),
    m("tool-steps-empty", SCRIPT, setv(f"{SCRIPT_TOOL}/steps", []), False),
    m(
        "tool-orchestrated-array-items-empty",
        SCRIPT,
        setv(f"{SCRIPT_TOOL}/outputParameters/0/items", []),
        False,
    ),
    m(
        "tool-orchestrated-array-items-object",
        SCRIPT,
        setv(f"{SCRIPT_TOOL}/outputParameters/0/items", {"name": "login", "type": "string"}),
        False,
    ),
    m(
        "tool-orchestrated-object",
        SCRIPT,
        setv(
            f"{SCRIPT_TOOL}/outputParameters/0",
            {"name": "summary", "type": "object", "properties": {"n": {"name": "n", "type": "number"}}},
        ),
        True,
    ),
    m(
        "tool-orchestrated-with-mapping",
        SCRIPT,
        setv(f"{SCRIPT_TOOL}/outputParameters/0/mapping", "$.x"),
        False,
    ),
    m("tool-input-missing-description", SCRIPT, drop(f"{SCRIPT_TOOL}/inputParameters/0/description"), False),
    m("tool-input-required-string", SCRIPT, setv(f"{SCRIPT_TOOL}/inputParameters/0/required", "yes"), False),
    m("tool-input-in-key", SCRIPT, setv(f"{SCRIPT_TOOL}/inputParameters/0/in", "query"), False),
    # --- steps and mappings
    m("step-type-loop", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/0/type", "loop"), False),
    m("step-missing-type", SCRIPT, drop(f"{SCRIPT_TOOL}/steps/0/type"), False),
    m("step-missing-name", SCRIPT, drop(f"{SCRIPT_TOOL}/steps/0/name"), False),
    m("step-name-with-dot", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/0/name", "list.members"), False),
    m("step-call-extra-index", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/0/index", "x"), False),
    m("step-call-missing-call", SCRIPT, drop(f"{SCRIPT_TOOL}/steps/0/call"), False),
    m("step-script-missing-file", SCRIPT, drop(f"{SCRIPT_TOOL}/steps/1/file"), False),
    m("step-script-empty-file", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/1/file", ""), False),
    m("step-script-language-ruby", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/1/language", "ruby"), False),
    m("step-script-location-https", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/1/location", "https://x/s"), False),
    m("step-script-dependencies-empty", SCRIPT, setv(f"{SCRIPT_TOOL}/steps/1/dependencies", []), False),
    m("step-lookup-missing-match", AGG, drop(f"{T10_FN}/steps/2/match"), False),
    m("step-lookup-outputs-empty", AGG, setv(f"{T10_FN}/steps/2/outputParameters", []), False),
    m("step-lookup-with-call", AGG, setv(f"{T10_FN}/steps/2/call", "registry.get-ship"), False),
    m("mapping-target-dotted", SCRIPT, setv(f"{SCRIPT_TOOL}/mappings/0/targetName", "a.b_c-d"), True),
    m("mapping-target-space", SCRIPT, setv(f"{SCRIPT_TOOL}/mappings/0/targetName", "a b"), False),
    m("mapping-missing-value", SCRIPT, drop(f"{SCRIPT_TOOL}/mappings/0/value"), False),
    # --- MCP resources and prompts
    m(
        "resource-location-only",
        MRP,
        chain(
            drop(f"{MRP_RES}/call", f"{MRP_RES}/with"),
            setv(f"{MRP_RES}/location", "file:///data/schema.json"),
        ),
        True,
    ),
    m("resource-location-and-call", MRP, setv(f"{MRP_RES}/location", "file:///data/schema.json"), False),
    m(
        "resource-location-not-file",
        MRP,
        chain(
            drop(f"{MRP_RES}/call", f"{MRP_RES}/with"), setv(f"{MRP_RES}/location", "https://x/schema.json")
        ),
        False,
    ),
    m("resource-no-handler", MRP, drop(f"{MRP_RES}/call", f"{MRP_RES}/with"), False),
    m("resource-call-and-steps-no-outputs", MRP, setv(f"{MRP_RES}/steps", [STEP_CALL]), False),
    m(
        "resource-call-and-steps-mapped-outputs",
        MRP,
        chain(setv(f"{MRP_RES}/steps", [STEP_CALL]), setv(f"{MRP_RES}/outputParameters", [MAPPED_STRING])),
        True,
    ),
    m(
        "resource-steps-orchestrated",
        MRP,
        chain(
            drop(f"{MRP_RES}/call"),
            setv(f"{MRP_RES}/steps", [STEP_CALL]),
            setv(f"{MRP_RES}/outputParameters", ORCH_OUTPUTS),
        ),
        True,
    ),
    m("resource-call-mock-outputs", MRP, setv(f"{MRP_RES}/outputParameters", MOCK_OUTPUTS), False),
    m("resource-mimetype-with-params", MRP, setv(f"{MRP_RES}/mimeType", 'text/plain; charset="utf-8"'), True),
    m("resource-mimetype-no-subtype", MRP, setv(f"{MRP_RES}/mimeType", "json"), False),
    m("resource-missing-uri", MRP, drop(f"{MRP_RES}/uri"), False),
    m("resource-name-underscore-star", MRP, setv(f"{MRP_RES}/name", "db_schema*"), True),
    m("mcp-resources-empty", MRP, setv(f"{MRP_MCP}/resources", []), False),
    m(
        "prompt-template-and-location",
        MRP,
        setv(f"{MRP_PROMPT}/location", "file:///prompts/outreach.md"),
        False,
    ),
    m(
        "prompt-location-only",
        MRP,
        chain(drop(f"{MRP_PROMPT}/template"), setv(f"{MRP_PROMPT}/location", "file:///prompts/outreach.md")),
        True,
    ),
    m("prompt-neither", MRP, drop(f"{MRP_PROMPT}/template"), False),
    m("prompt-template-empty", MRP, setv(f"{MRP_PROMPT}/template", []), False),
    m("prompt-role-system", MRP, setv(f"{MRP_PROMPT}/template/0/role", "system"), False),
    m("prompt-arguments-empty", MRP, setv(f"{MRP_PROMPT}/arguments", []), False),
    m("prompt-argument-missing-description", MRP, drop(f"{MRP_PROMPT}/arguments/0/description"), False),
    m("prompt-missing-label", MRP, drop(f"{MRP_PROMPT}/label"), False),
    # --- skills
    m("skilltool-from-and-instruction", SKILL, setv(f"{SKILL_SKILL}/tools/0/instruction", "guide.md"), False),
    m("skilltool-neither", SKILL, drop(f"{SKILL_SKILL}/tools/1/instruction"), False),
    m("skilltool-from-missing-action", SKILL, drop(f"{SKILL_SKILL}/tools/0/from/action"), False),
    m(
        "skilltool-from-old-shape",
        SKILL,
        setv(f"{SKILL_SKILL}/tools/0/from", {"namespace": "orders-rest", "name": "list-orders"}),
        False,
    ),
    m("skill-description-1024", SKILL, setv(f"{SKILL_SKILL}/description", "d" * 1024), True),
    m("skill-description-1025", SKILL, setv(f"{SKILL_SKILL}/description", "d" * 1025), False),
    m("skill-compatibility-501", SKILL, setv(f"{SKILL_SKILL}/compatibility", "c" * 501), False),
    m("skill-metadata-non-string", SKILL, setv(f"{SKILL_SKILL}/metadata", {"version": 2}), False),
    m("skill-metadata-strings", SKILL, setv(f"{SKILL_SKILL}/metadata", {"version": "2"}), True),
    m("skill-location-https", SKILL, setv(f"{SKILL_SKILL}/location", "https://example.com/skill"), False),
    m("skill-tools-empty", SKILL, setv(f"{SKILL_SKILL}/tools", []), False),
    m("skill-adapter-missing-port", SKILL, drop("capability/exposes/1/port"), False),
    m("skill-adapter-skills-empty", SKILL, setv("capability/exposes/1/skills", []), False),
    m("skill-user-invocable-string", SKILL, setv(f"{SKILL_SKILL}/user-invocable", "true"), False),
    # --- control and observability
    m("control-missing-port", CTRL, drop("capability/exposes/0/port"), False),
    m("control-namespace-not-allowed", CTRL, setv("capability/exposes/0/namespace", "ctl"), False),
    m("control-logs-true", CTRL, setv("capability/exposes/0/management/logs", True), True),
    m(
        "control-logs-object",
        CTRL,
        setv("capability/exposes/0/management/logs", {"stream": True, "max-subscribers": 20}),
        True,
    ),
    m("control-logs-string", CTRL, setv("capability/exposes/0/management/logs", "yes"), False),
    m(
        "control-logs-max-subscribers-21",
        CTRL,
        setv("capability/exposes/0/management/logs", {"max-subscribers": 21}),
        False,
    ),
    m(
        "control-scripting-language-ruby",
        CTRL,
        setv("capability/exposes/0/management/scripting/defaultLanguage", "ruby"),
        False,
    ),
    m(
        "control-scripting-timeout-0",
        CTRL,
        setv("capability/exposes/0/management/scripting/timeout", 0),
        False,
    ),
    m("control-management-unknown", CTRL, setv("capability/exposes/0/management/metrics", True), False),
    m("observability-unknown-key", OBS, setv("capability/exposes/0/observability/logs", True), False),
    m(
        "observability-sampling-1.5",
        OBS,
        setv("capability/exposes/0/observability/traces/sampling", 1.5),
        False,
    ),
    m("observability-sampling-0", OBS, setv("capability/exposes/0/observability/traces/sampling", 0), True),
    m(
        "observability-propagation-jaeger",
        OBS,
        setv("capability/exposes/0/observability/traces/propagation", "jaeger"),
        False,
    ),
    m(
        "observability-buffer-size-5",
        OBS,
        setv("capability/exposes/0/observability/traces/local", {"buffer-size": 5}),
        False,
    ),
    m(
        "observability-otlp-missing-endpoint",
        OBS,
        setv("capability/exposes/0/observability/exporters/otlp", {}),
        False,
    ),
    m(
        "observability-metrics-local",
        OBS,
        setv("capability/exposes/0/observability/metrics", {"local": {"enabled": False}}),
        True,
    ),
    # --- aggregates
    m("aggregate-missing-label", MOCK, drop("capability/aggregates/0/label"), False),
    m("aggregate-functions-empty", MOCK, setv("capability/aggregates/0/functions", []), False),
    m("aggregate-function-missing-description", MOCK, drop(f"{MOCK_FN}/description"), False),
    m("aggregate-function-no-handler", MOCK, drop(f"{MOCK_FN}/outputParameters"), False),
    m("aggregate-function-mock-integer", MOCK, setv(f"{MOCK_FN}/outputParameters/0/type", "integer"), False),
    m("aggregate-function-mock-object", MOCK, setv(f"{MOCK_FN}/outputParameters/0/type", "object"), False),
    m(
        "aggregate-function-call-mapped",
        MOCK,
        chain(setv(f"{MOCK_FN}/call", "api.get"), setv(f"{MOCK_FN}/outputParameters", [MAPPED_STRING])),
        True,
    ),
    m("aggregate-function-ref-not-allowed", MOCK, setv(f"{MOCK_FN}/ref", "a.b"), False),
    m("aggregate-function-semantics-unknown", MOCK, setv(f"{MOCK_FN}/semantics", {"pure": True}), False),
    m("aggregate-function-steps-with-mock", AGG, setv(f"{T10_FN}/outputParameters", MOCK_OUTPUTS), True),
    m("aggregate-function-steps-mapped", AGG, setv(f"{T10_FN}/outputParameters", [MAPPED_STRING]), False),
    m("aggregate-function-script-step", AGG, append(f"{T10_FN}/steps", SCRIPT_STEP), True),
    m("aggregate-namespace-dotted", MOCK, setv("capability/aggregates/0/namespace", "greet.ing"), False),
]


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    build: Callable[[], Any]
    expected: bool | None = None  # the verdict we expect from the official schema, when we know it


def _with_alpha2(name: str) -> Callable[[], Any]:
    def build() -> Any:
        doc = copy.deepcopy(corpus_documents()[name])
        doc["naftiko"] = ALPHA2
        return doc

    return build


def _as_is(name: str) -> Callable[[], Any]:
    return lambda: copy.deepcopy(base_documents()[name])


def _cases() -> list[Any]:
    params: list[Any] = []
    for name, doc in corpus_documents().items():
        if doc.get("naftiko") == ALPHA2:
            params.append(pytest.param(Case(_as_is(name)), id=f"corpus:{name}"))
        else:
            params.append(pytest.param(Case(_with_alpha2(name)), id=f"as-alpha2:{name}"))
    params.append(pytest.param(Case(_as_is("seed"), expected=False), id="seed"))
    params.append(pytest.param(Case(_as_is("seed-fixed"), expected=True), id="seed-fixed"))
    for mutation in MUTATIONS:
        params.append(pytest.param(Case(mutation.build, mutation.valid), id=f"mutation:{mutation.name}"))
    return params


CASES = _cases() if SHARED.is_dir() else [pytest.param(None, id="shared-corpus-missing")]


@requires_shared
@pytest.mark.parametrize("case", CASES)
def test_same_verdict_as_official_schema(case: Case) -> None:
    doc = case.build()
    official = official_validator().is_valid(doc)
    if case.expected is not None:
        assert official is case.expected, "the case does not do what its name says (official verdict differs)"
    issues = schema_issues(doc)  # empty exactly when our validator accepts the document
    assert (not issues) is official, [str(issue) for issue in issues]


@requires_shared
def test_case_inventory() -> None:
    docs = corpus_documents()
    declared = [doc.get("naftiko") for doc in docs.values()]
    assert declared.count(ALPHA2) == 51
    assert len(docs) - declared.count(ALPHA2) == 17  # alpha1 (1), alpha3 (9), 0.5 (7)
    assert len(MUTATIONS) >= 60
    assert len({mutation.name for mutation in MUTATIONS}) == len(MUTATIONS)
    valid = sum(mutation.valid for mutation in MUTATIONS)
    assert valid >= 20 and len(MUTATIONS) - valid >= 40


@requires_shared
@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("framework-alpha2/agent-skill-assets/capability-example.yml", True),
        ("ikanos-alpha3/embedding-capability.yaml", True),
        ("polychro/polychro-capability.yml", True),
        ("polychro/clean-capability.yml", False),
        ("framework-0.5/multi-consumes-rest-adapter.yml", True),
        ("framework-0.5/multi-consumes-with-auth.yml", True),
        ("framework-0.5/notion-sandbox.yml", True),
        ("framework-0.5/no-adapter.yml", False),
        ("framework-0.5/skill-adapter.yml", False),
        ("framework-0.5/notion.yml", False),
        ("framework-0.5/cir.yml", False),
    ],
)
def test_version_swapped_verdicts_match_index(name: str, valid: bool) -> None:
    """The "(as alpha2: ...)" column of INDEX.md, for our schema."""
    assert get_validator().is_valid(_with_alpha2(name)()) is valid
