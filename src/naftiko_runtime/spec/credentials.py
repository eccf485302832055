"""Credential templates checked at load: every name they use must have a provider.

An inbound credential (an adapter's ``authentication``) can only come from the binds. An outbound one (a
consumer's) can also use the consumer's ``environment`` parameters, and the call's arguments: a name that
is not written like a bind variable (``SCREAMING_SNAKE``, optionally ``namespace.``-qualified) is taken
for one, rendered per call (a call that lacks it is a server-side error then). A variable nobody
provides would otherwise let the capability start and then fail every call, so it is an error finding at
the credential's position. Yields ``checks.Check`` tuples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..expressions import ExpressionError, compile_template
from . import model as m
from .findings import Path

Check = tuple[str, Path, str, bool]

#: the fields of each authentication type that are templates
FIELDS = {
    "bearer": ("token",),
    "basic": ("username", "password"),
    "digest": ("username", "password"),
    "apikey": ("key", "value"),
    "oauth2": ("client_id", "client_secret"),
}
#: how bind variables are written (the spec's later drafts make it a rule): ``TOKEN``, ``secrets.API_KEY``
BIND_VARIABLE = re.compile(r"^(?:[A-Za-z0-9-]+\.)?[A-Z][A-Z0-9_]*$")
#: the YAML spelling of the fields whose attribute name differs
YAML_NAMES = {"client_id": "clientId", "client_secret": "clientSecret"}


def check_credentials(doc: m.NaftikoDocument) -> Iterator[Check]:
    cap = doc.capability
    if cap is None:  # a shared consumes file: the importing capability provides the binds
        return
    bound: set[str] = set()
    for bind in doc.all_binds:
        bound.update(bind.keys)
        bound.update(f"{bind.namespace}.{key}" for key in bind.keys)
    for consumer in cap.consumes:
        params = [*consumer.input_parameters]
        for resource in consumer.resources:
            params += resource.input_parameters
            for op in resource.operations:
                params += op.input_parameters
        known = bound | {p.name for p in params if p.in_ == "environment"}
        what = f"no bind or environment parameter of '{consumer.namespace}' provides"
        auth = consumer.authentication
        yield from _check(auth, consumer.path, known, what, arguments=True)
        if isinstance(auth, m.AuthOAuth2) and not (auth.client_id and auth.client_secret):
            yield (
                "error",
                (*consumer.path, "authentication"),
                "outbound oauth2 needs clientId and clientSecret (the client credentials grant uses them)",
                False,
            )
    for adapter in cap.exposes:
        auth = getattr(adapter, "authentication", None)
        yield from _check(auth, adapter.path, bound, "no bind provides (declare it under binds[].keys)")


def _check(
    auth: m.Authentication | None, owner: Path, known: set[str], what: str, *, arguments: bool = False
) -> Iterator[Check]:
    if auth is None:
        return
    for field in FIELDS.get(auth.type, ()):
        text = getattr(auth, field, None)
        if not isinstance(text, str):
            continue
        key = YAML_NAMES.get(field, field)
        for name in _unknown(text, known):
            if arguments and not BIND_VARIABLE.match(name):
                continue  # a call argument
            yield (
                "error",
                (*owner, "authentication", key),
                f"{auth.type} credential '{key}' names '{name}', which {what}",
                False,
            )


def _unknown(text: str, known: set[str]) -> Iterable[str]:
    try:
        names = compile_template(text).names
    except ExpressionError:
        return ()  # reported by the template check
    return sorted({n for n in names if n not in known})
