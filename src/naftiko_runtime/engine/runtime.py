"""The runtime of one capability: its consumers (their pools start and close with it), and the compiler
of its invocables."""

from __future__ import annotations

from collections.abc import Mapping

from ..binds import Bindings, Redactor
from ..consumes.http import BoundOperation, HttpConsumer, Timeouts
from ..consumes.policies import PolicySettings
from ..consumes.resilience import Policy
from ..errors import ConfigError
from ..expressions import compile_jsonpath
from ..shaping import compile_mock, compile_outputs, mock_outputs
from ..spec import model as m
from .binding import compile_with
from .invocation import Invocation
from .outcome import Scopes
from .responses import prepare_formats
from .steps import compile_steps


class Runtime:
    def __init__(
        self,
        document: m.NaftikoDocument,
        bindings: Bindings | None = None,
        *,
        upstreams: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        policies: PolicySettings | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """``timeouts`` are every consumer's; ``policies`` adjust each namespace's policy over them."""
        self.document = document
        self.bindings = bindings or Bindings()
        self.bind_scopes: Scopes = self.bindings.scopes
        self.redact = redactor or Redactor()
        self.redact.update(self.bindings.values())
        overrides = dict(upstreams or {})
        capability = document.capability
        consumes = capability.consumes if capability else ()
        unknown = sorted(set(overrides) - {c.namespace for c in consumes})
        if unknown:
            raise ConfigError(
                f"no consumes namespace {', '.join(repr(u) for u in unknown)} to point elsewhere"
            )
        base = Policy().with_timeouts(timeouts)
        settings = policies or PolicySettings()
        self.consumers: dict[str, HttpConsumer] = {
            c.namespace: HttpConsumer(
                c,
                self.bindings,
                base_uri=overrides.get(c.namespace),
                policy=settings.policy(c.namespace, base),
                redactor=self.redact,
            )
            for c in consumes
        }
        prepare_formats(document, self.consumers.values())
        self._functions: dict[str, Invocation] = {}

    async def start(self) -> None:
        for consumer in self.consumers.values():
            await consumer.start()

    async def close(self) -> None:
        for consumer in self.consumers.values():
            await consumer.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- compile ---

    def operation(self, call: str) -> BoundOperation:
        namespace, _, name = call.partition(".")
        return self.consumers[namespace].operations[name]

    def invocation(self, name: str, invocable: m.Invocable) -> Invocation:
        """Compile ``invocable``; ``name`` is what messages about it call it."""
        inv = Invocation(
            name,
            self.bind_scopes,
            self.redact,
            with_=compile_with(invocable.with_, invocable.prefixes, invocable.optional_inputs),
        )
        outputs = invocable.output_parameters
        if invocable.ref is not None:
            inv.delegate = self.function(invocable.ref)
            inv.shaper = compile_outputs(outputs)
        elif invocable.steps:
            inv.steps = compile_steps(invocable, self)
            inv.mappings = tuple(
                (tuple(mp.target_name.split(".")), compile_jsonpath(mp.value)) for mp in invocable.mappings
            )
            inv.shaper = compile_outputs([o for o in outputs if o.mapping is not None])
        elif invocable.call is not None:
            inv.operation = self.operation(invocable.call)
            inv.shaper = compile_outputs(outputs)
        elif outputs and mock_outputs(outputs):
            inv.mock = compile_mock(outputs)
        return inv

    def function(self, ref: str) -> Invocation:
        """The aggregate function ``<namespace>.<name>``, compiled once however many tools refer to it."""
        if ref not in self._functions:
            fn = self.document.aggregate_function(ref)
            if fn is None:
                raise ConfigError(f"ref '{ref}' names no aggregate function")
            inv = self.invocation(ref, fn.invocable)
            inv.required = tuple(p.name for p in fn.input_parameters or () if p.required)
            semantics = fn.semantics
            inv.idempotent = bool(semantics and (semantics.idempotent or semantics.safe))
            self._functions[ref] = inv
        return self._functions[ref]
