"""schemathesis against the REST adapter's own ``/openapi.json`` (the durable-workflow capability in front
of the Inngest stand-in), with every check that applies to one request: no 5xx, every status, content type,
header and body as documented (mapped outputs the upstream leaves out are documented as nullable), what
the document calls invalid is refused, and what it calls valid is never refused by the runtime itself.

Narrowed, for a stated reason: ``positive_data_acceptance`` fails a schema-valid request only when the
runtime refuses it. The upstream may still refuse one (``limit`` over 100, a run id that is not a ULID, a
timestamp it cannot read): the capability does not declare those rules, so the document cannot show them,
and the upstream's 400 reaches the caller as the problem ``upstream-status`` with its own body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.openapi.checks import RejectedPositiveData

from naftiko_inngest_dev import DevConfig, create_app
from naftiko_runtime.consumes.http import Timeouts
from naftiko_runtime.server.assemble import build_app, build_runtime, capability
from naftiko_runtime.spec import model as m
from naftiko_runtime.spec.loader import load_file

from .conftest import serve_app
from .support import ROOT, run_asgi

ENV = {"INNGEST_EVENT_KEY": "schema-event-key", "INNGEST_SIGNING_KEY": "signkey-test-0011223344556677"}


@pytest.fixture(scope="module")
def rest_url() -> Iterator[str]:
    config = DevConfig.from_mapping(
        {
            "event_keys": [ENV["INNGEST_EVENT_KEY"]],
            "signing_keys": [ENV["INNGEST_SIGNING_KEY"]],
            "time_scale": 0,
            "apps": [
                {"id": "shop", "name": "Shop", "functions": [{"id": "f", "name": "F", "triggers": ["a/b"]}]}
            ],
        }
    )
    doc = load_file(ROOT / "capabilities" / "durable-workflow.yaml").require()
    with run_asgi(create_app(config)) as standin:
        cap = capability(doc.file, doc, ENV, {"inngest-events": standin, "inngest-api": standin})
        runtime = build_runtime(cap, Timeouts(connect=1, total=5))
        adapter = next(a for a in cap.exposes if isinstance(a, m.ExposesRest))
        with serve_app(build_app(adapter, runtime, host="127.0.0.1", port=0), runtime) as url:
            yield url


@schemathesis.check
def runtime_accepts_what_it_documents(ctx: Any, response: Any, case: Any) -> bool | None:
    """``positive_data_acceptance``, except for a refusal that is the upstream's (see the module's note)."""
    try:
        return checks.positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.headers.get("content-type", [""])[0] == "application/problem+json":
            if json.loads(response.content).get("type") == "urn:naftiko:problem:upstream-status":
                return None
        raise


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.missing_required_header,
    checks.unsupported_method,
    runtime_accepts_what_it_documents,
]


def test_the_rest_adapter_keeps_to_its_openapi_document(rest_url: str) -> None:
    api = schemathesis.openapi.from_url(rest_url.rstrip("/") + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    tried: list[str] = []

    def exercise(operation: schemathesis.APIOperation) -> None:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            tried.append(operation.label)
            case.call_and_validate(base_url=rest_url, checks=CHECKS)

        check()

    for operation in operations:
        exercise(operation)
    assert len(operations) >= 15 and len(tried) >= 10 * len(operations)
