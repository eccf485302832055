"""Build the typed model from a parsed document.

The builder is the judge of what can be *interpreted*: a value it needs that is missing, of the wrong
type or outside its enum is an error here (the schema findings for the same node are then redundant).
Anything it can read, it reads, even when the schema would say otherwise; those deviations are reported
as warnings by the schema pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from . import model as m
from .findings import Path

T = TypeVar("T")

PARAM_IN = ("query", "header", "path", "cookie", "body", "environment")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
OUTPUT_TYPES = ("string", "number", "integer", "boolean", "object", "array")
BODY_KINDS = ("json", "text", "xml", "sparql", "formUrlEncoded", "multipartForm")
AUTH_TYPES = ("basic", "digest", "bearer", "apikey", "oauth2")
RAW_FORMATS = ("json", "xml", "avro", "protobuf", "csv", "tsv", "psv", "yaml", "html", "markdown")


class Builder:
    """Reads one document; ``errors`` collects ``(path, message)`` for everything it cannot interpret."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[tuple[Path, str]] = []

    # --- primitive readers ------------------------------------------------------------------------------

    def error(self, path: Path, message: str) -> None:
        self.errors.append((path, message))

    def get(
        self, node: Mapping[str, Any], key: str, path: Path, kind: type[T], *, required: bool = False
    ) -> T | None:
        if key not in node or node[key] is None:
            if required:
                self.error(path, f"'{key}' is required")
            return None
        value = node[key]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            self.error((*path, key), f"expected {_kind_name(kind)}, got {_describe(value)}")
            return None
        return cast(T, value)

    def text(self, node: Mapping[str, Any], key: str, path: Path, *, required: bool = False) -> str | None:
        return self.get(node, key, path, str, required=required)

    def req_text(self, node: Mapping[str, Any], key: str, path: Path) -> str:
        return self.text(node, key, path, required=True) or ""

    def flag(self, node: Mapping[str, Any], key: str, path: Path) -> bool | None:
        return self.get(node, key, path, bool)

    def enum(
        self,
        node: Mapping[str, Any],
        key: str,
        path: Path,
        allowed: tuple[str, ...],
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        value = self.text(node, key, path, required=required and default is None)
        if value is None:
            return default
        if value not in allowed:
            self.error((*path, key), f"{value!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def items(
        self,
        node: Mapping[str, Any],
        key: str,
        path: Path,
        build: Callable[[Mapping[str, Any], Path], T | None],
        *,
        required: bool = False,
    ) -> tuple[T, ...]:
        seq = self.get(node, key, path, list, required=required)
        if seq is None:
            return ()
        out: list[T] = []
        for i, item in enumerate(seq):
            p = (*path, key, i)
            if not isinstance(item, dict):
                self.error(p, f"expected an object, got {_describe(item)}")
                continue
            built = build(item, p)
            if built is not None:
                out.append(built)
        return tuple(out)

    def strings(self, node: Mapping[str, Any], key: str, path: Path) -> tuple[str, ...]:
        seq = self.get(node, key, path, list)
        if seq is None:
            return ()
        out = []
        for i, item in enumerate(seq):
            if isinstance(item, str):
                out.append(item)
            else:
                self.error((*path, key, i), f"expected a string, got {_describe(item)}")
        return tuple(out)

    def with_table(self, node: Mapping[str, Any], path: Path) -> Mapping[str, m.WithValue]:
        table = self.get(node, "with", path, dict)
        if table is None:
            return {}
        out: dict[str, m.WithValue] = {}
        for key, value in table.items():
            if isinstance(value, (str, int, float, bool)):
                out[key] = value
            else:
                self.error(
                    (*path, "with", key),
                    f"a 'with' value must be a string or a number, got {_describe(value)}",
                )
        return out

    def port(self, node: Mapping[str, Any], path: Path, *, required: bool) -> int | None:
        port = self.get(node, "port", path, int, required=required)
        if port is not None and not 0 <= port <= 65535:
            self.error((*path, "port"), f"port {port} is outside 0..65535")
            return None
        return port

    # --- document ---------------------------------------------------------------------------------------

    def document(self, data: Any) -> m.NaftikoDocument | None:
        if not isinstance(data, dict):
            self.error((), f"a Naftiko document must be a mapping, got {_describe(data)}")
            return None
        version = self.req_text(data, "naftiko", ())
        info_node = self.get(data, "info", (), dict)
        info = self.info(info_node, ("info",)) if info_node is not None else None
        binds = self.items(data, "binds", (), self.binding)
        capability_node = self.get(data, "capability", (), dict)
        capability = (
            self.capability(capability_node, ("capability",)) if capability_node is not None else None
        )
        consumes = tuple(
            c for c in self.items(data, "consumes", (), self.consumes_entry) if isinstance(c, m.ConsumesHttp)
        )
        if capability is None and "consumes" not in data:
            self.error((), "a document needs 'capability' (or a root 'consumes' for a shared consumer file)")
        return m.NaftikoDocument(
            naftiko=version, file=self.file, info=info, binds=binds, capability=capability, consumes=consumes
        )

    def info(self, node: Mapping[str, Any], path: Path) -> m.Info:
        return m.Info(
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            tags=self.strings(node, "tags", path),
            created=_str_or_none(node.get("created")),
            modified=_str_or_none(node.get("modified")),
        )

    def binding(self, node: Mapping[str, Any], path: Path) -> m.Binding | None:
        keys = self.get(node, "keys", path, dict, required=True) or {}
        clean: dict[str, str] = {}
        for var, provider_key in keys.items():
            if isinstance(provider_key, (str, int)) and not isinstance(provider_key, bool):
                clean[str(var)] = str(provider_key)
            else:
                self.error(
                    (*path, "keys", var),
                    f"a bind key must map to a provider key name, got {_describe(provider_key)}",
                )
        return m.Binding(
            namespace=self.req_text(node, "namespace", path),
            keys=clean,
            location=self.text(node, "location", path),
            description=self.text(node, "description", path),
            path=path,
        )

    def capability(self, node: Mapping[str, Any], path: Path) -> m.Capability:
        entries = self.items(node, "consumes", path, self.consumes_entry)
        return m.Capability(
            consumes=tuple(c for c in entries if isinstance(c, m.ConsumesHttp)),
            imports=tuple(c for c in entries if isinstance(c, m.ImportedConsumesHttp)),
            exposes=self.items(node, "exposes", path, self.exposes),
            aggregates=self.items(node, "aggregates", path, self.aggregate),
            binds=self.items(node, "binds", path, self.binding),
        )

    # --- consumes ---------------------------------------------------------------------------------------

    def consumes_entry(
        self, node: Mapping[str, Any], path: Path
    ) -> m.ConsumesHttp | m.ImportedConsumesHttp | None:
        if "location" in node:
            return m.ImportedConsumesHttp(
                location=self.req_text(node, "location", path),
                import_=self.req_text(node, "import", path),
                as_=self.text(node, "as", path),
                description=self.text(node, "description", path),
                path=path,
            )
        kind = self.enum(node, "type", path, ("http",), required=True)
        if kind is None:
            return None
        base_uri = self.req_text(node, "baseUri", path)
        if base_uri and not base_uri.startswith(("http://", "https://")):
            self.error((*path, "baseUri"), f"baseUri must start with http:// or https://, got {base_uri!r}")
        return m.ConsumesHttp(
            namespace=self.req_text(node, "namespace", path),
            base_uri=base_uri,
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.consumed_input),
            authentication=self.authentication(node, path),
            resources=self.items(node, "resources", path, self.consumed_resource),
            path=path,
            source=self.file,
        )

    def consumed_resource(self, node: Mapping[str, Any], path: Path) -> m.ConsumedHttpResource:
        return m.ConsumedHttpResource(
            name=self.req_text(node, "name", path),
            path_template=self.req_text(node, "path", path),
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.consumed_input),
            operations=self.items(node, "operations", path, self.consumed_operation, required=True),
            path=path,
        )

    def consumed_operation(self, node: Mapping[str, Any], path: Path) -> m.ConsumedHttpOperation:
        fmt = self.text(node, "outputRawFormat", path) or "json"
        if fmt.lower() not in RAW_FORMATS:
            self.error((*path, "outputRawFormat"), f"{fmt!r} is not one of {', '.join(RAW_FORMATS)}")
        return m.ConsumedHttpOperation(
            name=self.req_text(node, "name", path),
            method=cast(m.HttpMethod, self.enum(node, "method", path, METHODS, default="GET")),
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.consumed_input),
            output_raw_format=fmt.lower(),
            output_schema=self.text(node, "outputSchema", path),
            output_parameters=self.items(node, "outputParameters", path, self.consumed_output),
            body=self.request_body(node, path),
            path=path,
        )

    def consumed_input(self, node: Mapping[str, Any], path: Path) -> m.ConsumedInputParameter:
        value = node.get("value")
        return m.ConsumedInputParameter(
            name=self.req_text(node, "name", path),
            in_=cast(m.ParamIn, self.enum(node, "in", path, PARAM_IN, required=True) or "query"),
            value=_scalar_text(value),
            type=_str_or_none(node.get("type")),
            required=node.get("required") if isinstance(node.get("required"), bool) else None,
            description=_str_or_none(node.get("description")),
            path=path,
        )

    def consumed_output(self, node: Mapping[str, Any], path: Path) -> m.ConsumedOutputParameter:
        return m.ConsumedOutputParameter(
            name=self.req_text(node, "name", path),
            type=self.enum(node, "type", path, OUTPUT_TYPES, default="object") or "object",
            value=_str_or_none(node.get("value")) or _str_or_none(node.get("mapping")) or "$",
            path=path,
        )

    def request_body(self, node: Mapping[str, Any], path: Path) -> m.RequestBody | None:
        if "body" not in node or node["body"] is None:
            return None
        body = node["body"]
        p = (*path, "body")
        if isinstance(body, str):
            return m.RequestBody(kind="raw", data=body, path=p)
        if not isinstance(body, dict):
            self.error(
                p, f"a body is a template string or an object with 'type' and 'data', got {_describe(body)}"
            )
            return None
        kind = self.enum(body, "type", p, BODY_KINDS, required=True)
        if kind is None:
            return None
        if "data" not in body:
            self.error(p, "'data' is required")
        return m.RequestBody(kind=kind, data=body.get("data"), path=p)

    def authentication(self, node: Mapping[str, Any], path: Path) -> m.Authentication | None:
        auth = self.get(node, "authentication", path, dict)
        if auth is None:
            return None
        p = (*path, "authentication")
        kind = self.enum(auth, "type", p, AUTH_TYPES, required=True)

        def s(key: str) -> str:
            return _scalar_text(auth.get(key)) or ""

        if kind == "basic":
            return m.AuthBasic(username=s("username"), password=s("password"))
        if kind == "digest":
            return m.AuthDigest(username=s("username"), password=s("password"))
        if kind == "bearer":
            return m.AuthBearer(token=s("token"))
        if kind == "apikey":
            placement = self.enum(auth, "placement", p, ("header", "query"), default="header") or "header"
            return m.AuthApiKey(key=s("key"), value=s("value"), placement=cast(Any, placement))
        if kind == "oauth2":
            return m.AuthOAuth2(
                authorization_server_uri=s("authorizationServerUri"),
                resource=s("resource"),
                scopes=self.strings(auth, "scopes", p),
                audience=self.text(auth, "audience", p),
                token_endpoint=self.text(auth, "tokenEndpoint", p),
                token_validation=cast(
                    Any, self.enum(auth, "tokenValidation", p, ("jwks", "introspection"), default="jwks")
                ),
                client_id=self.text(auth, "clientId", p),
                client_secret=self.text(auth, "clientSecret", p),
            )
        return None

    # --- outputs ----------------------------------------------------------------------------------------

    def output(self, node: Mapping[str, Any], path: Path) -> m.OutputParameter:
        kind = self.enum(node, "type", path, OUTPUT_TYPES, default="string")
        if "type" not in node:
            kind = "object" if "properties" in node else "array" if "items" in node else "string"
        props_node = self.get(node, "properties", path, dict)
        properties: dict[str, m.OutputParameter] | None = None
        if props_node is not None:
            properties = {}
            for key, child in props_node.items():
                cp = (*path, "properties", key)
                if isinstance(child, dict):
                    properties[key] = self.output(child, cp)
                else:
                    self.error(cp, f"expected an output parameter object, got {_describe(child)}")
        items: m.OutputParameter | tuple[m.OutputParameter, ...] | None = None
        raw_items = node.get("items")
        if isinstance(raw_items, dict):
            items = self.output(raw_items, (*path, "items"))
        elif isinstance(raw_items, list):
            items = self.items(node, "items", path, self.output)
        elif raw_items is not None:
            self.error((*path, "items"), f"expected an object or a list, got {_describe(raw_items)}")
        mapping = node.get("mapping")
        if mapping is not None and not isinstance(mapping, str):
            self.error((*path, "mapping"), f"a mapping is a JSONPath string, got {_describe(mapping)}")
            mapping = None
        return m.OutputParameter(
            type=kind or "string",
            name=_str_or_none(node.get("name")),
            mapping=mapping,
            value=_scalar_text(node.get("value")),
            const=node.get("const"),
            has_const="const" in node,
            description=_str_or_none(node.get("description")),
            properties=properties,
            items=items,
            path=path,
        )

    def steps(self, node: Mapping[str, Any], path: Path) -> tuple[m.OperationStep, ...]:
        return self.items(node, "steps", path, self.step)

    def step(self, node: Mapping[str, Any], path: Path) -> m.OperationStep | None:
        kind = self.enum(node, "type", path, ("call", "lookup", "script"), required=True)
        if kind is None:
            return None
        return m.OperationStep(
            type=cast(Any, kind),
            name=self.req_text(node, "name", path),
            call=self.text(node, "call", path, required=kind == "call"),
            with_=self.with_table(node, path),
            index=self.text(node, "index", path, required=kind == "lookup"),
            match=self.text(node, "match", path, required=kind == "lookup"),
            lookup_value=self.text(node, "lookupValue", path, required=kind == "lookup"),
            output_parameters=self.strings(node, "outputParameters", path) if kind == "lookup" else (),
            path=path,
        )

    def mappings(self, node: Mapping[str, Any], path: Path) -> tuple[m.StepOutputMapping, ...]:
        return self.items(
            node,
            "mappings",
            path,
            lambda n, p: m.StepOutputMapping(
                self.req_text(n, "targetName", p), self.req_text(n, "value", p), p
            ),
        )

    # --- exposes ----------------------------------------------------------------------------------------

    def exposes(self, node: Mapping[str, Any], path: Path) -> m.Exposes | None:
        kind = self.text(node, "type", path, required=True)
        if kind == "rest":
            return m.ExposesRest(
                namespace=self.req_text(node, "namespace", path),
                port=self.port(node, path, required=True) or 0,
                address=self.text(node, "address", path),
                description=_str_or_none(node.get("description")),
                authentication=self.authentication(node, path),
                resources=self.items(node, "resources", path, self.exposed_resource),
                path=path,
            )
        if kind == "mcp":
            transport = self.enum(node, "transport", path, ("http", "stdio"), default="http") or "http"
            return m.ExposesMcp(
                namespace=self.req_text(node, "namespace", path),
                port=self.port(node, path, required=transport == "http"),
                transport=cast(Any, transport),
                address=self.text(node, "address", path),
                description=self.text(node, "description", path),
                authentication=self.authentication(node, path),
                tools=self.items(node, "tools", path, self.mcp_tool),
                resources=self.items(node, "resources", path, self.mcp_resource),
                prompts=self.items(node, "prompts", path, self.mcp_prompt),
                path=path,
            )
        if kind in ("skill", "control"):
            return m.ExposesOther(
                type=kind,
                namespace=_str_or_none(node.get("namespace")),
                port=self.port(node, path, required=False),
                raw=dict(node),
                path=path,
            )
        if kind is not None:
            self.error(
                (*path, "type"), f"unknown adapter type {kind!r} (expected rest, mcp, skill or control)"
            )
        return None

    def exposed_resource(self, node: Mapping[str, Any], path: Path) -> m.ExposedResource:
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
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.exposed_input),
            operations=self.items(node, "operations", path, self.exposed_operation),
            forward=forward,
            path=path,
        )

    def exposed_operation(self, node: Mapping[str, Any], path: Path) -> m.ExposedOperation:
        return m.ExposedOperation(
            method=cast(m.HttpMethod, self.enum(node, "method", path, METHODS, default="GET")),
            name=self.text(node, "name", path),
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            input_parameters=self.items(node, "inputParameters", path, self.exposed_input),
            call=self.text(node, "call", path),
            ref=self.text(node, "ref", path),
            with_=self.with_table(node, path),
            output_parameters=self.items(node, "outputParameters", path, self.output),
            steps=self.steps(node, path),
            mappings=self.mappings(node, path),
            path=path,
        )

    def exposed_input(self, node: Mapping[str, Any], path: Path) -> m.ExposedInputParameter:
        return m.ExposedInputParameter(
            name=self.req_text(node, "name", path),
            in_=cast(m.ParamIn, self.enum(node, "in", path, PARAM_IN, required=True) or "query"),
            type=self.enum(node, "type", path, OUTPUT_TYPES, default="string") or "string",
            description=self.text(node, "description", path),
            pattern=self.text(node, "pattern", path),
            value=_scalar_text(node.get("value")),
            required=node.get("required") if isinstance(node.get("required"), bool) else None,
            path=path,
        )

    def mcp_tool(self, node: Mapping[str, Any], path: Path) -> m.McpTool:
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
            input_parameters=self.tool_inputs(node, path),
            call=self.text(node, "call", path),
            ref=self.text(node, "ref", path),
            with_=self.with_table(node, path),
            hints=hints,
            output_parameters=self.items(node, "outputParameters", path, self.output),
            steps=self.steps(node, path),
            mappings=self.mappings(node, path),
            path=path,
        )

    def tool_inputs(self, node: Mapping[str, Any], path: Path) -> tuple[m.McpToolInputParameter, ...] | None:
        if "inputParameters" not in node:
            return None
        return self.items(node, "inputParameters", path, self.tool_input)

    def tool_input(self, node: Mapping[str, Any], path: Path) -> m.McpToolInputParameter:
        items = node.get("items")
        enum = node.get("enum")
        required = self.flag(node, "required", path)
        return m.McpToolInputParameter(
            name=self.req_text(node, "name", path),
            type=self.enum(node, "type", path, OUTPUT_TYPES, default="string") or "string",
            description=self.text(node, "description", path),
            required=True if required is None else required,
            items=items if isinstance(items, dict) else None,
            enum=tuple(enum) if isinstance(enum, list) else None,
            default=node.get("default"),
            path=path,
        )

    def mcp_resource(self, node: Mapping[str, Any], path: Path) -> m.McpResource:
        return m.McpResource(
            name=self.req_text(node, "name", path),
            uri=self.req_text(node, "uri", path),
            label=self.text(node, "label", path),
            description=self.text(node, "description", path),
            mime_type=self.text(node, "mimeType", path),
            call=self.text(node, "call", path),
            with_=self.with_table(node, path),
            output_parameters=self.items(node, "outputParameters", path, self.output),
            steps=self.steps(node, path),
            mappings=self.mappings(node, path),
            location=self.text(node, "location", path),
            path=path,
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

    # --- aggregates -------------------------------------------------------------------------------------

    def aggregate(self, node: Mapping[str, Any], path: Path) -> m.Aggregate:
        return m.Aggregate(
            namespace=self.req_text(node, "namespace", path),
            label=self.text(node, "label", path),
            functions=self.items(node, "functions", path, self.aggregate_function, required=True),
            path=path,
        )

    def aggregate_function(self, node: Mapping[str, Any], path: Path) -> m.AggregateFunction:
        sem_node = self.get(node, "semantics", path, dict)
        semantics = None
        if sem_node is not None:
            sp = (*path, "semantics")
            semantics = m.Semantics(
                safe=self.flag(sem_node, "safe", sp),
                idempotent=self.flag(sem_node, "idempotent", sp),
                cacheable=self.flag(sem_node, "cacheable", sp),
            )
        return m.AggregateFunction(
            name=self.req_text(node, "name", path),
            description=self.text(node, "description", path),
            semantics=semantics,
            input_parameters=self.tool_inputs(node, path),
            call=self.text(node, "call", path),
            with_=self.with_table(node, path),
            output_parameters=self.items(node, "outputParameters", path, self.output),
            steps=self.steps(node, path),
            mappings=self.mappings(node, path),
            path=path,
        )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _scalar_text(value: Any) -> str | None:
    """Template-ish fields accept numbers and booleans in real files; read them as their YAML text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "an object",
    }.get(kind, kind.__name__)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
