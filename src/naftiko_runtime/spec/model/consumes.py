"""Consumed HTTP adapters: their resources, operations, parameters and request bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..findings import Path
from .base import Authentication, HttpMethod, ParamIn


@dataclass(frozen=True, slots=True)
class ConsumedInputParameter:
    name: str
    in_: ParamIn
    value: str | None = None
    type: str | None = None
    required: bool | None = None
    description: str | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ConsumedOutputParameter:
    name: str
    type: str
    value: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class RequestBody:
    """``kind`` is ``raw`` for a plain template string, else the body ``type`` of the spec."""

    kind: str
    data: Any
    path: Path = ()
    #: False for a plain map without ``type``, read as JSON data
    typed: bool = True


@dataclass(frozen=True, slots=True)
class ConsumedHttpOperation:
    name: str
    method: HttpMethod = "GET"
    label: str | None = None
    description: str | None = None
    input_parameters: tuple[ConsumedInputParameter, ...] = ()
    output_raw_format: str = "json"
    output_schema: str | None = None
    output_parameters: tuple[ConsumedOutputParameter, ...] = ()
    body: RequestBody | None = None
    path: Path = ()
    #: ``outputRawFormat: binary`` (Ikanos beta1+): the media type answered, the size limit in bytes
    output_media_type: str | None = None
    max_binary_size: int | None = None


@dataclass(frozen=True, slots=True)
class ConsumedHttpResource:
    name: str
    path_template: str
    label: str | None = None
    description: str | None = None
    input_parameters: tuple[ConsumedInputParameter, ...] = ()
    operations: tuple[ConsumedHttpOperation, ...] = ()
    path: Path = ()


@dataclass(frozen=True, slots=True)
class ConsumesHttp:
    namespace: str
    base_uri: str
    description: str | None = None
    input_parameters: tuple[ConsumedInputParameter, ...] = ()
    authentication: Authentication | None = None
    resources: tuple[ConsumedHttpResource, ...] = ()
    path: Path = ()
    #: the file this adapter came from (an imported shared consumer file, or the capability itself)
    source: str | None = None

    def find(self, operation: str) -> tuple[ConsumedHttpResource, ConsumedHttpOperation] | None:
        """The first operation of that name across the resources (the spec's lookup rule)."""
        for resource in self.resources:
            for op in resource.operations:
                if op.name == operation:
                    return resource, op
        return None


@dataclass(frozen=True, slots=True)
class ImportedConsumesHttp:
    location: str
    import_: str
    as_: str | None = None
    description: str | None = None
    path: Path = ()


_TEMPLATE_ONLY = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}$")


def template_name(value: str) -> str | None:
    """``BASE_URL`` for a value that is wholly the template ``{{BASE_URL}}``, else None."""
    match = _TEMPLATE_ONLY.match(value.strip())
    return match.group(1) if match else None
