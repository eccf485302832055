"""Building consumed HTTP adapters (and the authentication blocks adapters on both sides share)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from .. import model as m
from ..findings import Path
from .reader import (
    AUTH_TYPES,
    BODY_KINDS,
    METHODS,
    OUTPUT_TYPES,
    PARAM_IN,
    RAW_FORMATS,
    Reader,
    describe,
    scalar_text,
    str_or_none,
)


class ConsumesReader(Reader):
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
        if base_uri and not base_uri.startswith(("http://", "https://")) and not m.template_name(base_uri):
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
            output_media_type=self.text(node, "outputMediaType", path),
            max_binary_size=self.binary_size(node, path),
        )

    def consumed_input(self, node: Mapping[str, Any], path: Path) -> m.ConsumedInputParameter:
        value = node.get("value")
        return m.ConsumedInputParameter(
            name=self.req_text(node, "name", path),
            in_=cast(m.ParamIn, self.enum(node, "in", path, PARAM_IN, required=True) or "query"),
            value=scalar_text(value),
            type=str_or_none(node.get("type")),
            required=node.get("required") if isinstance(node.get("required"), bool) else None,
            description=str_or_none(node.get("description")),
            path=path,
        )

    def consumed_output(self, node: Mapping[str, Any], path: Path) -> m.ConsumedOutputParameter:
        return m.ConsumedOutputParameter(
            name=self.req_text(node, "name", path),
            type=self.enum(node, "type", path, OUTPUT_TYPES, default="object") or "object",
            value=str_or_none(node.get("value")) or str_or_none(node.get("mapping")) or "$",
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
                p, f"a body is a template string or an object with 'type' and 'data', got {describe(body)}"
            )
            return None
        if "type" not in body:  # a plain map: its author meant the JSON data (checks warn)
            return m.RequestBody(kind="json", data=body, path=p, typed=False)
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
            return scalar_text(auth.get(key)) or ""

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
