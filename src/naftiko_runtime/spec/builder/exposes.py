"""Building exposed adapters: REST resources and operations, MCP tools, resources and prompts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from .. import model as m
from ..findings import Path
from .consumes import ConsumesReader
from .invocable import InvocableReader
from .reader import METHODS, OUTPUT_TYPES, PARAM_IN, scalar_text, str_or_none

Prefixes = tuple[str, ...]


class ExposesReader(InvocableReader, ConsumesReader):
    def exposes(self, node: Mapping[str, Any], path: Path) -> m.Exposes | None:
        kind = self.text(node, "type", path, required=True)
        if kind is None:
            return None
        read = ADAPTER_READERS.get(kind)
        if read is None:
            *most, last = ADAPTER_READERS
            expected = f"{', '.join(most)} or {last}"
            self.error((*path, "type"), f"unknown adapter type {kind!r} (expected {expected})")
            return None
        return read(self, node, path)

    def rest_adapter(self, node: Mapping[str, Any], path: Path) -> m.ExposesRest:
        namespace = self.req_text(node, "namespace", path)
        prefixes = m.with_prefixes(namespace, "rest")
        return m.ExposesRest(
            namespace=namespace,
            port=self.port(node, path, required=True) or 0,
            address=self.text(node, "address", path),
            description=str_or_none(node.get("description")),
            authentication=self.authentication(node, path),
            resources=self.items(node, "resources", path, lambda n, p: self.exposed_resource(n, p, prefixes)),
            path=path,
            max_binary_size=self.binary_size(node, path),
        )

    def mcp_adapter(self, node: Mapping[str, Any], path: Path) -> m.ExposesMcp:
        transport = self.enum(node, "transport", path, ("http", "stdio"), default="http") or "http"
        namespace = self.req_text(node, "namespace", path)
        prefixes = m.with_prefixes(namespace, "mcp")
        return m.ExposesMcp(
            namespace=namespace,
            port=self.port(node, path, required=transport == "http"),
            transport=cast(Any, transport),
            address=self.text(node, "address", path),
            description=self.text(node, "description", path),
            authentication=self.authentication(node, path),
            tools=self.items(node, "tools", path, lambda n, p: self.mcp_tool(n, p, prefixes)),
            resources=self.items(node, "resources", path, lambda n, p: self.mcp_resource(n, p, prefixes)),
            prompts=self.items(node, "prompts", path, self.mcp_prompt),
            path=path,
            ttl_ms=self.ttl_ms(node, path),
            cache_scope=cast(Any, self.enum(node, "cacheScope", path, ("public", "private"))),
            max_binary_size=self.binary_size(node, path),
        )

    def control_adapter(self, node: Mapping[str, Any], path: Path) -> m.ExposesControl:
        return m.ExposesControl(
            port=self.port(node, path, required=True),
            address=self.text(node, "address", path),
            authentication=self.authentication(node, path),
            management=self.management(node, path),
            observability=self.observability(node, path),
            path=path,
        )

    def other_adapter(self, node: Mapping[str, Any], path: Path) -> m.ExposesOther:
        """An adapter whose spec object the runtime keeps as written (its exposer reads ``raw``)."""
        return m.ExposesOther(
            type=str(node["type"]),
            namespace=str_or_none(node.get("namespace")),
            port=self.port(node, path, required=False),
            raw=dict(node),
            path=path,
        )

    # --- control ----------------------------------------------------------------------------------------

    def management(self, node: Mapping[str, Any], path: Path) -> m.ControlManagement:
        mp = (*path, "management")
        spec = self.get(node, "management", path, dict) or {}
        flag = self.flag
        return m.ControlManagement(
            health=_default(flag(spec, "health", mp), True),
            info=_default(flag(spec, "info", mp), False),
            reload=_default(flag(spec, "reload", mp), False),
            validate=_default(flag(spec, "validate", mp), False),
            logs=spec.get("logs") not in (None, False),
            scripting="scripting" in spec,
            scripting_settings=spec["scripting"] if isinstance(spec.get("scripting"), dict) else {},
            path=mp,
        )

    def observability(self, node: Mapping[str, Any], path: Path) -> m.Observability:
        op = (*path, "observability")
        spec = self.get(node, "observability", path, dict) or {}
        metrics = self.get(spec, "metrics", op, dict) or {}
        local_metrics = self.get(metrics, "local", (*op, "metrics"), dict) or {}
        tp = (*op, "traces")
        traces = self.get(spec, "traces", op, dict)
        local = self.get(traces or {}, "local", tp, dict) or {}
        otlp = self.get(self.get(spec, "exporters", op, dict) or {}, "otlp", (*op, "exporters"), dict)
        sampling = self.get(traces or {}, "sampling", tp, float)
        buffer_size = self.get(local, "buffer-size", (*tp, "local"), int)
        return m.Observability(
            enabled=_default(self.flag(spec, "enabled", op), True),
            metrics=_default(self.flag(local_metrics, "enabled", (*op, "metrics", "local")), True),
            traces=traces is not None or otlp is not None,
            sampling=1.0 if sampling is None else float(sampling),
            propagation=self.text(traces or {}, "propagation", tp) or "w3c",
            traces_local=_default(self.flag(local, "enabled", (*tp, "local")), True),
            buffer_size=100 if buffer_size is None else buffer_size,
            otlp_endpoint=self.text(otlp or {}, "endpoint", (*op, "exporters", "otlp")),
            path=op,
        )

    # --- REST -------------------------------------------------------------------------------------------

    def ttl_ms(self, node: Mapping[str, Any], path: Path) -> int | None:
        ttl = self.get(node, "ttlMs", path, int)
        if ttl is not None and ttl < 0:
            self.error((*path, "ttlMs"), f"ttlMs must not be negative, got {ttl}")
            return None
        return ttl

    def exposed_resource(self, node: Mapping[str, Any], path: Path, prefixes: Prefixes) -> m.ExposedResource:
        forward_node = self.get(node, "forward", path, dict)
        forward = None
        if forward_node is not None:
            fp = (*path, "forward")
            forward = m.ForwardConfig(
                target_namespace=self.req_text(forward_node, "targetNamespace", fp),
                trusted_headers=self.strings(forward_node, "trustedHeaders", fp),
                path=fp,
            )
        return m.ExposedResource(
            path_template=self.req_text(node, "path", path),
            name=self.text(node, "name", path),
            label=self.text(node, "label", path),
            tags=self.strings(node, "tags", path),
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.exposed_input),
            operations=self.items(
                node, "operations", path, lambda n, p: self.exposed_operation(n, p, prefixes)
            ),
            forward=forward,
            path=path,
        )

    def exposed_operation(
        self, node: Mapping[str, Any], path: Path, prefixes: Prefixes
    ) -> m.ExposedOperation:
        return m.ExposedOperation(
            method=cast(m.HttpMethod, self.enum(node, "method", path, METHODS, default="GET")),
            name=self.text(node, "name", path),
            label=self.text(node, "label", path),
            tags=self.strings(node, "tags", path),
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.exposed_input),
            invocable=self.invocable(node, path, prefixes),
            path=path,
            responses=self.responses(node, path),
        )

    def responses(self, node: Mapping[str, Any], path: Path) -> tuple[m.ResponseContract, ...]:
        """``responses``, or the ``responseBinary`` shorthand read as the one binary response it means."""
        short = self.get(node, "responseBinary", path, dict)
        if short is not None:
            sp = (*path, "responseBinary")
            if "responses" in node:
                self.error(sp, "responseBinary is a shorthand for responses: declare one or the other")
            status = self.get(short, "status", sp, int)
            only = m.ResponseContent(self.req_text(short, "mediaType", sp), binary=True)
            return (m.ResponseContract(str(status or 200), self.text(short, "description", sp), (only,)),)
        contracts = []
        for status, spec in (self.get(node, "responses", path, dict) or {}).items():
            rp = (*path, "responses", status)
            if not isinstance(spec, dict):
                self.error(rp, "a response is an object with 'description' and 'content'")
                continue
            content: list[m.ResponseContent] = []
            for media, entry in (self.get(spec, "content", rp, dict) or {}).items():
                cp = (*rp, "content", media)
                if not isinstance(entry, dict):
                    self.error(cp, "a response content is an object ('binary', 'schema')")
                    continue
                schema = self.get(entry, "schema", cp, dict)
                content.append(m.ResponseContent(str(media), bool(self.flag(entry, "binary", cp)), schema))
            contracts.append(
                m.ResponseContract(str(status), self.text(spec, "description", rp), tuple(content))
            )
        return tuple(contracts)

    def exposed_input(self, node: Mapping[str, Any], path: Path) -> m.ExposedInputParameter:
        return m.ExposedInputParameter(
            name=self.req_text(node, "name", path),
            in_=cast(m.ParamIn, self.enum(node, "in", path, PARAM_IN, required=True) or "query"),
            type=self.enum(node, "type", path, OUTPUT_TYPES, default="string") or "string",
            description=self.text(node, "description", path),
            pattern=self.text(node, "pattern", path),
            value=scalar_text(node.get("value")),
            required=node.get("required") if isinstance(node.get("required"), bool) else None,
            path=path,
        )

    # --- MCP --------------------------------------------------------------------------------------------

    def mcp_tool(self, node: Mapping[str, Any], path: Path, prefixes: Prefixes) -> m.McpTool:
        hints_node = self.get(node, "hints", path, dict)
        hints = None
        if hints_node is not None:
            hp = (*path, "hints")
            hints = m.McpToolHints(
                read_only=self.flag(hints_node, "readOnly", hp),
                destructive=self.flag(hints_node, "destructive", hp),
                idempotent=self.flag(hints_node, "idempotent", hp),
                open_world=self.flag(hints_node, "openWorld", hp),
            )
        return m.McpTool(
            name=self.text(node, "name", path, required="ref" not in node) or "",
            description=self.text(node, "description", path),
            label=self.text(node, "label", path),
            tags=self.strings(node, "tags", path),
            input_parameters=self.tool_inputs(node, path),
            hints=hints,
            invocable=self.invocable(node, path, prefixes),
            path=path,
        )

    def mcp_resource(self, node: Mapping[str, Any], path: Path, prefixes: Prefixes) -> m.McpResource:
        return m.McpResource(
            name=self.req_text(node, "name", path),
            uri=self.req_text(node, "uri", path),
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            mime_type=self.text(node, "mimeType", path),
            invocable=self.invocable(node, path, prefixes, ref=False),
            location=self.text(node, "location", path),
            path=path,
            binary=bool(self.flag(node, "binary", path)),
        )

    def mcp_prompt(self, node: Mapping[str, Any], path: Path) -> m.McpPrompt:
        def argument(n: Mapping[str, Any], p: Path) -> m.McpPromptArgument:
            req = self.flag(n, "required", p)
            return m.McpPromptArgument(
                name=self.req_text(n, "name", p),
                description=self.text(n, "description", p),
                label=self.text(n, "label", p),
                required=True if req is None else req,
            )

        def message(n: Mapping[str, Any], p: Path) -> m.McpPromptMessage:
            role = self.enum(n, "role", p, ("user", "assistant"), required=True) or "user"
            return m.McpPromptMessage(role=cast(Any, role), content=self.req_text(n, "content", p))

        return m.McpPrompt(
            name=self.req_text(node, "name", path),
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            arguments=self.items(node, "arguments", path, argument),
            template=self.items(node, "template", path, message),
            location=self.text(node, "location", path),
            path=path,
        )


def _default(value: bool | None, default: bool) -> bool:
    return default if value is None else value


#: how each adapter ``type`` is read into its spec object (the runtime's exposers are ``exposes.ADAPTERS``)
ADAPTER_READERS: dict[str, Callable[[ExposesReader, Mapping[str, Any], Path], m.Exposes]] = {
    "rest": ExposesReader.rest_adapter,
    "mcp": ExposesReader.mcp_adapter,
    "skill": ExposesReader.other_adapter,
    "control": ExposesReader.control_adapter,
}
