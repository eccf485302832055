"""The beta5 tutorial's end-to-end oracles: the same 33 tests, on the Ikanos-dialect step files.

The oracle file of the beta5 corpus is byte-identical to the alpha2 one; the steps are the
``conformance/ikanos-beta5/tutorial/`` files and the mock is built from the beta5 harness's own OpenAPI
files (``engine/openapi``, which add one crew-refresh operation no test calls).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from .dialect_support import BETA
from .microcks import build_mock
from .support import requires_shared, run_asgi
from .test_tutorial_oracles import ServeFiles, Servers, check_oracle, oracles

pytestmark = [requires_shared, pytest.mark.e2e]

ORACLES = BETA / "oracles" / "tutorial-tests.yml"
CAPABILITIES = BETA / "tutorial"
UPSTREAMS = BETA / "engine" / "openapi"


@pytest.fixture(scope="module")
def beta_servers(serve_files: ServeFiles) -> Iterator[Servers]:
    mock = build_mock(sorted(UPSTREAMS.glob("*.yaml")))
    with run_asgi(mock) as mock_url, contextlib.ExitStack() as stack:
        yield Servers(mock_url, serve_files, stack, CAPABILITIES)


@pytest.mark.parametrize("test", oracles(ORACLES))
def test_beta5_tutorial_oracle(beta_servers: Servers, test: dict[str, Any]) -> None:
    check_oracle(beta_servers, test)
