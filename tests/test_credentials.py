"""Credentials are checked at load; one a call cannot complete is a server-side error, not the caller's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from naftiko_runtime.cli import main
from naftiko_runtime.errors import MisconfiguredError
from naftiko_runtime.spec.loader import load_text

from .support import run_asgi
from .test_consumes_http import call, capability
from .upstreams import echo_app

BINDS = "binds:\n- namespace: env\n  keys: {API_TOKEN: API_TOKEN}\n"


def consumer(auth: str, params: str = "") -> str:
    return (
        "- type: http\n  namespace: api\n  baseUri: http://h\n"
        + params
        + "  authentication: "
        + auth
        + "\n  resources:\n  - name: r\n    path: /r\n    operations:\n    - {name: op, method: GET}\n"
    )


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    with run_asgi(echo_app()) as url:
        yield url


def errors(text: str) -> list[str]:
    return [f.format() for f in load_text(text, "cap.yaml").findings if f.severity == "error"]


@pytest.mark.parametrize(
    "auth",
    [
        '{type: bearer, token: "{{API_TOKEN}}"}',
        '{type: bearer, token: "{{env.API_TOKEN}}"}',
        '{type: apikey, key: X-Key, value: "{{tenant_key}}"}',  # a call argument, rendered per call
        "{type: basic, username: ann, password: literal}",
    ],
)
def test_bound_literal_and_argument_credentials_pass(auth: str) -> None:
    assert errors(capability(consumer(auth), BINDS)) == []


def test_an_environment_parameter_provides_a_credential() -> None:
    env = "  inputParameters: [{name: LEDGER_KEY, in: environment}]\n"
    assert errors(capability(consumer('{type: bearer, token: "{{LEDGER_KEY}}"}', env), BINDS)) == []


def test_an_unbound_outbound_credential_is_an_error_at_its_line() -> None:
    text = capability(consumer('{type: basic, username: "{{API_USER}}", password: "{{API_TOKEN}}"}'), BINDS)
    assert errors(text) == [
        "cap.yaml:11:45  $.capability.consumes[0].authentication.username  error: basic credential 'username' "
        "names 'API_USER', which no bind or environment parameter of 'api' provides"
    ]


def test_an_unbound_inbound_credential_is_an_error_even_in_lower_case() -> None:
    text = (
        "naftiko: 1.0.0-alpha2\ninfo: {label: t, description: t}\n"
        + BINDS
        + "capability:\n  exposes:\n  - type: mcp\n    namespace: t\n    port: 9999\n"
        + '    authentication: {type: bearer, token: "{{token}}"}\n'
        + "    tools:\n    - {name: hello, description: hi, outputParameters: [{type: string, value: hi}]}\n"
    )
    assert errors(text) == [
        "cap.yaml:11:43  $.capability.exposes[0].authentication.token  error: bearer credential 'token' names "
        "'token', which no bind provides (declare it under binds[].keys)"
    ]
    assert errors(text.replace("{{token}}", "{{API_TOKEN}}")) == []


def test_outbound_oauth2_needs_client_credentials() -> None:
    auth = "{type: oauth2, authorizationServerUri: 'https://as', resource: 'https://api'}"
    (found,) = errors(capability(consumer(auth), BINDS))
    assert found.endswith(
        "error: outbound oauth2 needs clientId and clientSecret (the client credentials grant uses them)"
    )


def test_naftiko_validate_reports_the_unbound_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cap.yaml"
    path.write_text(capability(consumer('{type: bearer, token: "{{MISSING_TOKEN}}"}'), BINDS))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:11:43  $.capability.consumes[0].authentication.token  error: " in out
    assert "names 'MISSING_TOKEN', which no bind" in out


def test_a_credential_argument_a_call_lacks_is_a_500_naming_the_server(echo: str) -> None:
    text = capability(consumer('{type: apikey, key: X-Key, value: "{{tenant_key}}"}'), BINDS)
    with pytest.raises(MisconfiguredError) as caught:
        call(text, "op", {}, echo, environ={"API_TOKEN": "t0ken-value"})
    assert caught.value.status == 500
    assert caught.value.detail == (
        "the server is misconfigured: apikey credential 'value' needs 'tenant_key', which this call does not have"
    )
    ok = call(text, "op", {"tenant_key": "k-123"}, echo, environ={"API_TOKEN": "t0ken-value"})
    assert ok.value()["headers"]["x-key"] == "k-123"
