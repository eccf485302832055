"""Generate synthetic capability files for the start-up and size measurements.

Capability ``k`` has one consumed HTTP namespace ``gen-k-api`` with ten operations (GETs with a path and
a query parameter, POSTs with body parameters, a bearer bind) and one REST adapter ``gen-k-rest`` that
exposes all ten with typed inputs and shaped outputs. Files are plain YAML text, one per capability.
"""

from __future__ import annotations

from pathlib import Path

OPERATIONS = 10


def rest_namespace(k: int) -> str:
    return f"gen-{k:03d}-rest"


def capability_yaml(k: int, port: int) -> str:
    api = f"gen-{k:03d}-api"
    consumed: list[str] = []
    exposed: list[str] = []
    for i in range(OPERATIONS):
        if i % 2 == 0:
            consumed.append(f"""\
    - name: items-{i}
      path: /v1/items{i}/{{itemId}}
      operations:
      - name: get-item-{i}
        method: GET
        description: Read item kind {i}.
        inputParameters:
        - name: itemId
          in: path
        - name: verbose
          in: query
          value: 'true'
        outputParameters:
        - name: item
          type: object
          value: $.data
""")
            exposed.append(f"""\
    - path: /v1/kind{i}/{{itemId}}
      name: kind-{i}
      description: One item of kind {i}.
      operations:
      - method: GET
        name: read-kind-{i}
        description: Read an item of kind {i}.
        call: {api}.get-item-{i}
        inputParameters:
        - name: itemId
          in: path
          type: string
          description: The item id.
        outputParameters:
        - type: object
          properties:
            id:
              type: string
              mapping: $.item.id
            name:
              type: string
              mapping: $.item.name
            tags:
              type: array
              mapping: $.item.tags
              items:
                type: string
                mapping: $
""")
        else:
            consumed.append(f"""\
    - name: items-{i}
      path: /v1/items{i}
      operations:
      - name: create-item-{i}
        method: POST
        description: Create an item of kind {i}.
        inputParameters:
        - name: name
          in: body
        - name: tags
          in: body
""")
            exposed.append(f"""\
    - path: /v1/kind{i}
      name: kind-{i}-create
      description: Create items of kind {i}.
      operations:
      - method: POST
        name: create-kind-{i}
        description: Create an item of kind {i}.
        call: {api}.create-item-{i}
        inputParameters:
        - name: name
          in: body
          type: string
          description: Display name.
        - name: tags
          in: body
          type: array
          description: Labels.
""")
    return f"""\
naftiko: 1.0.0-alpha2
info:
  label: Generated capability {k}
  description: Synthetic capability {k} for the start-up benchmark, with {OPERATIONS} operations.
  tags:
  - Benchmark
  created: '2026-11-22'
  modified: '2026-11-22'
binds:
- namespace: gen{k:03d}
  keys:
    GEN_TOKEN: INNGEST_SIGNING_KEY
capability:
  consumes:
  - type: http
    namespace: {api}
    baseUri: http://127.0.0.1:9
    description: The synthetic upstream of capability {k}.
    authentication:
      type: bearer
      token: '{{{{gen{k:03d}.GEN_TOKEN}}}}'
    resources:
{"".join(consumed)}  exposes:
  - type: rest
    namespace: {rest_namespace(k)}
    port: {port}
    resources:
{"".join(exposed)}"""


def generate(folder: Path, count: int, first_port: int = 20000) -> list[Path]:
    """Write ``count`` capabilities into ``folder`` (emptied of earlier ones) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("gen-*.yaml"):
        old.unlink()
    paths = []
    for k in range(count):
        path = folder / f"gen-{k:03d}.yaml"
        path.write_text(capability_yaml(k, first_port + k), encoding="utf-8")
        paths.append(path)
    return paths
