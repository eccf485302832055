"""Benchmark ``naftiko serve`` side by side with hand-written floors and a FastMCP peer, in one run.

    python bench/run.py [--quick] [--only rest,mcp,startup,workers,metrics,profile] [--duration S]
                        [--rounds N] [--loadgen wrk|python] [--profile]

Sections (see bench/README.md for what each figure means):
  rest     GET /v1/workflows/runs/{runid}: upstream direct, REST floor, naftiko; 1, 16 and 64 clients
  mcp      tools/call get-canonical-run: naftiko, MCP floor, FastMCP OpenAPI peer; 1, 16 and 64 clients
  startup  launch-to-listening time and RSS: the seed, and 25/50/100 generated capabilities
  workers  naftiko serve --workers 1 vs 2 (REST), when the flag exists
  metrics  the cost of metrics: the capability as is (no control adapter: no metrics, no tracing) next to
           the same with a control adapter serving /metrics (tracing off); REST and MCP at 16 clients
  profile  (only when asked: --profile or --only profile) py-spy samples of naftiko serve and the floors
Prints tables and PASS/MISS against the goals; writes bench/.work/last.json.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gencaps import generate, rest_namespace
from harness import (
    BENCH,
    BENCH_PYTHON,
    MCP_HEADERS,
    NAFTIKO,
    PROJECT_PYTHON,
    ROOT,
    RUN_ID,
    SERVER_ENV,
    SHARED_SEED,
    TOKEN,
    WORK,
    BenchError,
    LoadGenerator,
    Probe,
    Request,
    Server,
    answers_mcp,
    answers_openapi,
    compile_project,
    cpu_seconds,
    ensure_bench_venv,
    ensure_wrk,
    free_ports,
    git_revision,
    http,
    log,
    mcp_rpc,
    naftiko_serve_help,
    process_tree,
    rss_bytes,
    uvicorn_plumbing,
    wait_http,
)
from upstream import run_document


def _serving_gc_threshold() -> int:
    """The collector threshold ``naftiko serve`` sets while serving, read from its source (the bench runs
    in its own virtualenv, without the project)."""
    source = (ROOT / "src" / "naftiko_runtime" / "server" / "run.py").read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == "GC_YOUNG_THRESHOLD" for t in targets):
                assert node.value is not None
                return int(ast.literal_eval(node.value))
    raise BenchError("naftiko_runtime/server/run.py no longer defines GC_YOUNG_THRESHOLD")


GC_YOUNG_THRESHOLD = _serving_gc_threshold()

SECTIONS = ("rest", "mcp", "startup", "workers", "metrics")
OPTIONAL_SECTIONS = ("profile",)
CLIENTS = (1, 16, 64)
WORKER_CLIENTS = (16, 64)
METRICS_CLIENTS = (16,)
GENERATED_COUNTS = (25, 50, 100)
MIB = 1024 * 1024


# --- what is served -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """The capability file measured and the names in it."""

    source: str
    path: Path
    rest_namespace: str
    mcp_namespace: str
    upstream_namespace: str
    rest_route: str  # with {id} for the run id
    upstream_path: str  # with {runId}, as the capability calls it
    tool: str


def choose_scenario() -> Scenario:
    """The seed capability from ../shared (as tests/support.py extracts it), else the project's own file."""
    if SHARED_SEED.exists():
        text = SHARED_SEED.read_text(encoding="utf-8")
        path = WORK / "seed" / "durable-workflow.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text[text.index("\nnaftiko: ") + 1 :].rstrip() + "\n", encoding="utf-8")
        return Scenario(
            f"seed {SHARED_SEED.relative_to(ROOT.parent)}",
            path,
            "inngest-workflow-rest",
            "inngest-workflow-mcp",
            "inngest-workflow",
            "/v1/workflows/runs/{id}",
            "/v2/runs/{runId}",
            "get-canonical-run",
        )
    # the project's file declares a control adapter (metrics, traces): the main sections serve it without
    path = WORK / "own" / "durable-workflow.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(with_control(ROOT / "capabilities" / "durable-workflow.yaml", None), encoding="utf-8")
    return Scenario(
        "capabilities/durable-workflow.yaml without its control adapter (../shared is absent)",
        path,
        "workflows-rest",
        "workflows-mcp",
        "inngest-api",
        "/v1/workflows/runs/{id}",
        "/v2/runs/{runId}?includeOutput=true",
        "get-run",
    )


def with_control(path: Path, control_port: int | None) -> str:
    """The capability file's text with its control adapters removed and, given a port, one serving
    metrics added (health and /metrics only: no traces)."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    exposes = [a for a in document["capability"]["exposes"] if a.get("type") != "control"]
    if control_port is not None:
        exposes.append({"type": "control", "port": control_port, "management": {"health": True}})
    document["capability"]["exposes"] = exposes
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


@dataclass
class Target:
    """A server under load: its process, the request repeated, or why it could not be measured."""

    name: str
    server: Server | None
    port: int = 0
    request: Request | None = None
    unavailable: str = ""

    @property
    def ready(self) -> bool:
        return self.server is not None and self.request is not None and not self.unavailable


@dataclass
class Context:
    options: argparse.Namespace
    scenario: Scenario
    loadgen: LoadGenerator
    upstream: Server
    upstream_url: str
    plumbing: dict[str, str]
    serve_help: str | None

    def naftiko_argv(
        self, paths: Sequence[Path], ports: dict[str, int], *extra: str, upstream: bool = True
    ) -> list[str]:
        """``naftiko serve`` of ``paths`` on ``ports``; ``upstream`` points the scenario's consumed
        namespace at the fake upstream (generated capabilities have no such namespace)."""
        argv = [str(NAFTIKO), "serve", *map(str, paths), "--log-level", "warning"]
        for namespace, port in ports.items():
            argv += ["--port", f"{namespace}={port}"]
        if upstream:
            argv += ["--upstream", f"{self.scenario.upstream_namespace}={self.upstream_url}"]
        return [*argv, *extra]

    def floor_argv(self, script: str, port: int) -> list[str]:
        """A floor (``floor_rest.py`` or ``floor_mcp.py``) on ``port`` against the fake upstream."""
        return [
            str(PROJECT_PYTHON),
            str(BENCH / script),
            str(port),
            self.upstream_url,
            self.scenario.upstream_path,
        ]

    def peer_argv(self, port: int) -> list[str]:
        """The FastMCP peer on ``port``, with uvicorn plumbing like the project's."""
        argv = [str(BENCH_PYTHON), str(BENCH / "peer_fastmcp.py"), str(port), self.upstream_url]
        return argv + ["--loop", self.plumbing["loop"], "--http", self.plumbing["http"]]


def start_target(name: str, log_name: str, argv_for_port: Callable[[int], list[str]]) -> Target:
    """Launch a one-port server on a free port, as a target named ``name``."""
    port = free_ports(1)[0]
    return Target(name, Server(log_name, argv_for_port(port), [port], SERVER_ENV).start(), port)


# --- checks: each server must answer correctly before it is measured ---------------------------------------


def rest_request(url: str, headers: dict[str, str] | None = None) -> Request:
    return Request(url, headers=headers or {})


def check_rest(request: Request) -> bool:
    """The route answers 200 with the run; returns whether the JSON equals the upstream's exactly."""
    status, body = http(request.url, headers=request.headers)
    if status != 200:
        raise BenchError(f"GET {request.url}: HTTP {status}: {body[:300]!r}")
    document = json.loads(body)
    if not isinstance(document, dict) or document.get("data", {}).get("id") != RUN_ID:
        raise BenchError(f"GET {request.url}: not the run: {body[:300]!r}")
    return bool(document == run_document(RUN_ID))


def mcp_request(url: str, preferred_tool: str) -> Request:
    """Find the run tool and its run-id argument via tools/list, check a call, return the call to repeat."""
    tools = mcp_rpc(url, "tools/list", {})["result"]["tools"]
    names = [tool["name"] for tool in tools]
    tool = next((t for t in tools if t["name"] == preferred_tool), None)
    tool = tool or next((t for t in tools if "canonical" in t["name"].replace("_", "-")), None)
    if tool is None:
        raise BenchError(f"{url}: no run tool among {names}")
    properties = tool.get("inputSchema", {}).get("properties", {})
    argument = next((p for p in properties if p.lower().replace("_", "") == "runid"), "runId")
    params = {"name": tool["name"], "arguments": {argument: RUN_ID}}
    result = mcp_rpc(url, "tools/call", params)["result"]
    if result.get("isError") or RUN_ID not in json.dumps(result):
        raise BenchError(
            f"{url}: tools/call {tool['name']} did not return the run: {json.dumps(result)[:300]}"
        )
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
    return Request(url, method="POST", body=body, headers=MCP_HEADERS)


def prepare(target: Target, check: Callable[[], Request]) -> None:
    """Wait for the target to listen and answer correctly; on failure record why instead of raising."""
    assert target.server is not None
    try:
        target.server.wait_serving()
        holder: list[Request] = []
        wait_http(lambda: holder.append(check()))
        target.request = holder[-1]
    except BenchError as error:
        target.unavailable = str(error).strip().splitlines()[-1][:200] if str(error).strip() else "failed"
        log(f"{target.name}: not measured: {target.unavailable}")


# --- measuring ------------------------------------------------------------------------------------------


def measure(ctx: Context, section: str, target: Target, clients: int, round_no: int) -> dict[str, Any]:
    assert target.server is not None and target.request is not None
    pids = process_tree(target.server.pid)
    upstream = [ctx.upstream.pid]
    per_process0, upstream0 = {pid: cpu_seconds([pid]) for pid in pids}, cpu_seconds(upstream)
    summary = ctx.loadgen.run(target.request, clients, ctx.options.duration)
    per_process = {pid: cpu_seconds([pid]) - before for pid, before in per_process0.items()}
    upstream1 = cpu_seconds(upstream)
    cpu = sum(per_process.values())
    if not target.server.alive():
        raise BenchError(f"{target.name} died during the measurement:\n{target.server.log_tail()}")
    requests = max(1, summary["requests"])
    seconds = summary["duration_us"] / 1e6
    row = {
        "section": section,
        "target": target.name,
        "clients": clients,
        "round": round_no,
        "requests": summary["requests"],
        "seconds": round(seconds, 3),
        "rps": summary["requests"] / seconds,
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "cpu_us": cpu / requests * 1e6,
        "busiest_process_share": max(per_process.values()) / cpu if cpu > 0 else 1.0,
        "upstream_cpu_us": (upstream1 - upstream0) / requests * 1e6,
        "loadgen_cpu_us": summary["loadgen_cpu_s"] / requests * 1e6,
        "errors": sum(summary["errors"].values()),
    }
    log(
        f"{section} {target.name:<9} c={clients:<3} r{round_no}: {row['rps']:8.0f} req/s"
        f"  p50 {row['p50_ms']:.2f} ms"
        f"  cpu {row['cpu_us']:.0f} µs/req" + (f"  ERRORS {row['errors']}" if row["errors"] else "")
    )
    return row


def compare(
    ctx: Context, section: str, targets: Sequence[Target], clients: Sequence[int]
) -> list[dict[str, Any]]:
    """Rounds of every target at every client count, the target order rotating each round so that drift
    on a noisy machine spreads evenly; one warm-up per target first."""
    ready = [t for t in targets if t.ready]
    for target in ready:
        assert target.request is not None
        ctx.loadgen.run(target.request, 16, 1.0)
    rows = []
    for count in clients:
        for round_no in range(ctx.options.rounds):
            shift = round_no % max(1, len(ready))
            for target in ready[shift:] + ready[:shift]:
                rows.append(measure(ctx, section, target, count, round_no))
    return rows


def medians(
    rows: Sequence[dict[str, Any]], targets: Sequence[Target], clients: Sequence[int]
) -> dict[str, Any]:
    """Per target and client count, the median of each figure over the rounds (or why it is missing)."""
    table: dict[str, Any] = {}
    for target in targets:
        per_clients: dict[str, Any] = {}
        for count in clients:
            cells = [r for r in rows if r["target"] == target.name and r["clients"] == count]
            if not cells:
                per_clients[str(count)] = {"unavailable": target.unavailable or "not measured"}
                continue
            figures = ("rps", "p50_ms", "p99_ms", "cpu_us", "upstream_cpu_us", "loadgen_cpu_us")
            figures += ("busiest_process_share",)
            cell: dict[str, Any] = {key: statistics.median(r[key] for r in cells) for key in figures}
            cell["errors"] = sum(r["errors"] for r in cells)
            cell["requests"] = sum(r["requests"] for r in cells)
            per_clients[str(count)] = cell
        table[target.name] = per_clients
    return table


def ratio(table: dict[str, Any], a: str, b: str, clients: int, key: str) -> float | None:
    x, y = table[a][str(clients)], table[b][str(clients)]
    if key not in x or key not in y or not y[key]:
        return None
    return float(x[key] / y[key])


def difference(table: dict[str, Any], a: str, b: str, clients: int, key: str) -> float | None:
    x, y = table[a][str(clients)], table[b][str(clients)]
    if key not in x or key not in y:
        return None
    return float(x[key] - y[key])


# --- sections -------------------------------------------------------------------------------------------


def rest_section(ctx: Context, naftiko_server: Server | None) -> dict[str, Any]:
    scenario = ctx.scenario
    naftiko = naftiko_target(ctx, naftiko_server, 0)
    route = scenario.rest_route.replace("{id}", RUN_ID)
    upstream = Target("upstream", ctx.upstream)
    upstream_path = scenario.upstream_path.replace("{runId}", RUN_ID)
    upstream.request = rest_request(
        f"{ctx.upstream_url}{upstream_path}", {"Authorization": f"Bearer {TOKEN}"}
    )
    floor = start_target("floor", "floor-rest", lambda port: ctx.floor_argv("floor_rest.py", port))
    # the same floor with the collector threshold naftiko serve sets: like for like, what our code costs
    young = str(GC_YOUNG_THRESHOLD)
    floor_gc = start_target(
        "floor+gc", "floor-rest-gc", lambda port: [*ctx.floor_argv("floor_rest.py", port), young]
    )
    same_json: dict[str, bool] = {}
    try:
        for target in (upstream, floor, floor_gc, naftiko):
            if target.server is None:
                continue
            url = target.request.url if target.request else f"http://127.0.0.1:{target.port}{route}"
            prepare(target, lambda url=url, target=target: _checked_rest(url, target, same_json))
        targets = [upstream, floor, floor_gc, naftiko]
        rows = compare(ctx, "rest", targets, CLIENTS)
    finally:
        for started in (floor, floor_gc):
            assert started.server is not None
            started.server.stop()
    table = medians(rows, targets, CLIENTS)
    ratios = {
        str(c): {
            "throughput_naftiko_over_floor": ratio(table, "naftiko", "floor", c, "rps"),
            "cpu_naftiko_over_floor": ratio(table, "naftiko", "floor", c, "cpu_us"),
            "cpu_naftiko_over_floor_gc": ratio(table, "naftiko", "floor+gc", c, "cpu_us"),
            "p50_naftiko_minus_floor_ms": difference(table, "naftiko", "floor", c, "p50_ms"),
            "throughput_upstream_over_naftiko": ratio(table, "upstream", "naftiko", c, "rps"),
            "throughput_upstream_over_floor": ratio(table, "upstream", "floor", c, "rps"),
        }
        for c in CLIENTS
    }
    return {
        "rows": rows,
        "table": table,
        "ratios": ratios,
        "same_json_as_upstream": same_json,
        "unavailable": {t.name: t.unavailable for t in targets if not t.ready},
    }


def _checked_rest(url: str, target: Target, same_json: dict[str, bool]) -> Request:
    request = target.request or rest_request(url)
    same_json[target.name] = check_rest(request)
    return request


def mcp_section(ctx: Context, naftiko_server: Server | None) -> dict[str, Any]:
    scenario = ctx.scenario
    naftiko = naftiko_target(ctx, naftiko_server, 1)
    floor = start_target("floor", "floor-mcp", lambda port: ctx.floor_argv("floor_mcp.py", port))
    if "?" in scenario.upstream_path:
        log("fastmcp peer: its OpenAPI document has no includeOutput query (the upstream ignores queries)")
    peer = start_target("fastmcp", "fastmcp-peer", ctx.peer_argv)
    try:
        for target in (naftiko, floor, peer):
            if target.server is None:
                continue
            url = f"http://127.0.0.1:{target.port}/mcp"
            prepare(target, lambda url=url: mcp_request(url, scenario.tool))
        targets = [naftiko, floor, peer]
        rows = compare(ctx, "mcp", targets, CLIENTS)
    finally:
        for target in (floor, peer):
            if target.server:
                target.server.stop()
    table = medians(rows, targets, CLIENTS)
    ratios = {
        str(c): {
            "throughput_naftiko_over_floor": ratio(table, "naftiko", "floor", c, "rps"),
            "throughput_naftiko_over_fastmcp": ratio(table, "naftiko", "fastmcp", c, "rps"),
            "throughput_floor_over_fastmcp": ratio(table, "floor", "fastmcp", c, "rps"),
            "cpu_naftiko_over_floor": ratio(table, "naftiko", "floor", c, "cpu_us"),
            "cpu_naftiko_over_fastmcp": ratio(table, "naftiko", "fastmcp", c, "cpu_us"),
            "p50_naftiko_minus_floor_ms": difference(table, "naftiko", "floor", c, "p50_ms"),
        }
        for c in CLIENTS
    }
    return {
        "rows": rows,
        "table": table,
        "ratios": ratios,
        "unavailable": {t.name: t.unavailable for t in targets if not t.ready},
    }


def profile_section(ctx: Context, naftiko_server: Server | None) -> dict[str, Any]:
    """py-spy samples of naftiko serve (REST, then MCP) and of both floors, at 16 clients."""
    from pyspy import Subject, profile

    scenario = ctx.scenario
    route = scenario.rest_route.replace("{id}", RUN_ID)
    floors = [
        start_target(name, f"profile-{name}", lambda port, script=script: ctx.floor_argv(script, port))
        for name, script in (("floor-rest", "floor_rest.py"), ("floor-mcp", "floor_mcp.py"))
    ]
    subjects = [
        (naftiko_target(ctx, naftiko_server, 0), "rest", "naftiko-rest"),
        (naftiko_target(ctx, naftiko_server, 1), "mcp", "naftiko-mcp"),
        (floors[0], "rest", "floor-rest"),
        (floors[1], "mcp", "floor-mcp"),
    ]
    try:
        ready = []
        for target, kind, name in subjects:
            if target.server is None:
                continue
            if kind == "rest":
                prepare(target, lambda url=f"http://127.0.0.1:{target.port}{route}": _rest_checked(url))
            else:
                prepare(
                    target, lambda url=f"http://127.0.0.1:{target.port}/mcp": mcp_request(url, scenario.tool)
                )
            if target.ready:
                assert target.server is not None and target.request is not None
                ready.append(Subject(name, target.server.pid, target.request))
        return profile(ctx.loadgen, ready, ctx.options.duration, 16)
    finally:
        for target in floors:
            assert target.server is not None
            target.server.stop()


def mcp_vs_rest(rest: dict[str, Any], mcp: dict[str, Any]) -> dict[str, Any]:
    """naftiko's tools/call next to its REST route, per client count: both call the same upstream
    operation, so what MCP costs beyond REST is its protocol alone."""
    table = {"rest": rest["naftiko"], "mcp": mcp["naftiko"]}
    return {
        str(c): {
            "cpu_mcp_over_rest": ratio(table, "mcp", "rest", c, "cpu_us"),
            "p50_mcp_minus_rest_ms": difference(table, "mcp", "rest", c, "p50_ms"),
        }
        for c in CLIENTS
    }


def launch_once(
    name: str, argv: list[str], ports: list[int], first_url: str | None, probes: Mapping[int, Probe]
) -> dict[str, Any]:
    """Launch a server and time it: to every port accepting TCP (``bound_s``), to every port answering
    its probe (``ready_s``: a request its app serves, see ``Server.wait_serving``) and, given
    ``first_url``, to its first 200 (``first_200_s``, through the upstream). ``rss_mib`` is the RSS of its
    process tree at the end. Then stop it."""
    server = Server(name, argv, ports, SERVER_ENV).start()
    try:
        sample: dict[str, Any] = {"bound_s": server.wait_listening(timeout=60)}
        sample["ready_s"] = server.wait_serving(timeout=60, probes=probes)
        if first_url is not None:
            wait_http(lambda: _expect_200(first_url), timeout=30)
            sample["first_200_s"] = time.perf_counter() - server.started_at
        sample["rss_mib"] = rss_bytes(process_tree(server.pid)) / MIB
        return sample
    finally:
        server.stop()


def _expect_200(url: str) -> None:
    status, body = http(url)
    if status != 200:
        raise BenchError(f"GET {url}: HTTP {status}: {body[:200]!r}")


#: what a launch is given: argv, ports, the first URL to get a 200 from (or None), each port's probe
Launch = tuple[list[str], list[int], str | None, Mapping[int, Probe]]


def repeat_launch(repeats: int, name: str, make: Callable[[], Launch]) -> dict[str, Any]:
    """The median of ``repeats`` launches (``make`` gives argv, ports, first URL and probes on fresh
    ports), or why it could not be measured."""
    return interleaved_launches(repeats, {name: make})[name]


def interleaved_launches(
    repeats: int, makes: Mapping[str, Callable[[], Launch]]
) -> dict[str, dict[str, Any]]:
    """``repeat_launch`` of several servers, their launches taking turns (A, B, A, B, ...), so that a
    change in the machine's load during the run weighs on each of them alike."""
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in makes}
    failed: dict[str, str] = {}
    for _ in range(repeats):
        for name, make in makes.items():
            if name in failed:
                continue
            try:
                samples[name].append(launch_once(name, *make()))
            except BenchError as error:
                reason = str(error).strip().splitlines()[-1][:200] if str(error).strip() else "failed"
                log(f"start-up of {name}: {reason}")
                failed[name] = reason
    return {
        name: {"unavailable": failed[name]}
        if name in failed
        else {key: statistics.median(s[key] for s in runs) for key in runs[0]} | {"runs": len(runs)}
        for name, runs in samples.items()
    }


def startup_section(ctx: Context) -> dict[str, Any]:
    repeats = ctx.options.startup_repeats
    scenario = ctx.scenario
    route = scenario.rest_route.replace("{id}", RUN_ID)
    compile_project()

    def floor(script: str, route_url: bool) -> Callable[[], Launch]:
        def make() -> Launch:
            port = free_ports(1)[0]
            first_url = f"http://127.0.0.1:{port}{route}" if route_url else None
            # a floor's app is built before uvicorn starts: any answer from it is the app serving
            return ctx.floor_argv(script, port), [port], first_url, {}

        return make

    def seed() -> Launch:
        rest_port, mcp_port = free_ports(2)
        ports = {scenario.rest_namespace: rest_port, scenario.mcp_namespace: mcp_port}
        return (
            ctx.naftiko_argv([scenario.path], ports),
            [rest_port, mcp_port],
            f"http://127.0.0.1:{rest_port}{route}",
            {rest_port: answers_openapi, mcp_port: answers_mcp},
        )

    def generated_caps(folder: Path, count: int) -> Callable[[], Launch]:
        def make() -> Launch:
            chosen = free_ports(count)
            ports = {rest_namespace(k): port for k, port in enumerate(chosen)}
            argv = ctx.naftiko_argv([folder], ports, upstream=False)
            return argv, chosen, None, dict.fromkeys(chosen, answers_openapi)

        return make

    # the seed's goal is read against the REST floor: as many launches, taking turns with the seed's
    paired = interleaved_launches(
        ctx.options.seed_repeats, {"startup-floor-rest": floor("floor_rest.py", True), "startup-seed": seed}
    )
    result: dict[str, Any] = {
        "floor_rest": paired["startup-floor-rest"],
        "floor_mcp": repeat_launch(repeats, "startup-floor-mcp", floor("floor_mcp.py", False)),
        "seed": paired["startup-seed"],
    }
    if "unavailable" in result["seed"]:
        return result
    generated: dict[str, Any] = {}
    for count in GENERATED_COUNTS:
        folder = WORK / "gen" / f"n{count:03d}"
        generate(folder, count)
        generated[str(count)] = repeat_launch(repeats, f"startup-gen{count}", generated_caps(folder, count))
    result["generated"] = generated
    result["per_capability"] = per_capability_cost(generated)
    return result


def per_capability_cost(generated: dict[str, Any]) -> dict[str, Any] | None:
    """Least-squares slope of time and RSS over the capability count, and how the cost grows: "linear" when
    the cost per capability from 25 to 50 and from 50 to 100 are within a factor 1.5 of each other,
    "sub-linear" when it falls (fixed costs amortised), "SUPER-linear" when it rises."""
    points = [(int(n), s) for n, s in generated.items() if "ready_s" in s]
    if len(points) < 2:
        return None
    xs = [n for n, _ in points]

    def slope(key: str) -> float:
        ys = [s[key] for _, s in points]
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mean_x) ** 2 for x in xs
        )

    increments = [
        (b[1]["ready_s"] - a[1]["ready_s"]) / (b[0] - a[0]) for a, b in zip(points, points[1:], strict=False)
    ]
    trend = increments[-1] / increments[0] if increments[0] > 0 else float("inf")
    growth = "SUPER-linear" if trend > 1.5 else "sub-linear" if trend < 1 / 1.5 else "linear"
    return {
        "ready_ms_per_capability": slope("ready_s") * 1000,
        "rss_mib_per_capability": slope("rss_mib"),
        "ready_ms_per_capability_by_step": [i * 1000 for i in increments],
        "growth": growth,
    }


def workers_section(ctx: Context) -> dict[str, Any]:
    if ctx.serve_help is None:
        return {"unavailable": "naftiko serve is not available"}
    if "--workers" not in ctx.serve_help:
        return {"unavailable": "not available (naftiko serve has no --workers flag yet)"}
    scenario = ctx.scenario
    route = scenario.rest_route.replace("{id}", RUN_ID)
    targets = []
    for workers in (1, 2):
        rest_port, mcp_port = free_ports(2)
        ports = {scenario.rest_namespace: rest_port, scenario.mcp_namespace: mcp_port}
        argv = ctx.naftiko_argv([scenario.path], ports, "--workers", str(workers))
        server = Server(f"naftiko-w{workers}", argv, [rest_port, mcp_port], SERVER_ENV).start()
        targets.append(Target(f"{workers} worker" + ("s" if workers > 1 else ""), server, rest_port))
    try:
        for target in targets:
            assert target.server is not None
            url = f"http://127.0.0.1:{target.port}{route}"
            prepare(target, lambda url=url: _rest_checked(url))
        rows = compare(ctx, "workers", targets, WORKER_CLIENTS)
    finally:
        for target in targets:
            if target.server:
                target.server.stop()
    table = medians(rows, targets, WORKER_CLIENTS)
    ratios = {str(c): ratio(table, targets[1].name, targets[0].name, c, "rps") for c in WORKER_CLIENTS}
    return {
        "rows": rows,
        "table": table,
        "throughput_2_over_1": ratios,
        "unavailable": {t.name: t.unavailable for t in targets if not t.ready},
    }


def metrics_section(ctx: Context) -> dict[str, Any]:
    """The same capability served twice: as is, and with a control adapter collecting metrics."""
    if ctx.serve_help is None:
        return {"unavailable": "naftiko serve is not available"}
    scenario = ctx.scenario
    route = scenario.rest_route.replace("{id}", RUN_ID)
    servers: list[tuple[str, Server, int, int]] = []
    for name in ("metrics off", "metrics on"):
        rest_port, mcp_port, control_port = free_ports(3)
        path = WORK / "metrics" / f"{name.replace(' ', '-')}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(with_control(scenario.path, control_port if name == "metrics on" else None))
        ports = {scenario.rest_namespace: rest_port, scenario.mcp_namespace: mcp_port}
        argv = ctx.naftiko_argv([path], ports)
        server = Server(f"naftiko-{name.replace(' ', '-')}", argv, [rest_port, mcp_port], SERVER_ENV).start()
        servers.append((name, server, rest_port, mcp_port))
    results: dict[str, Any] = {}
    try:
        for section, which in (("rest", 2), ("mcp", 3)):
            targets = [Target(name, server, ports[which - 2]) for name, server, *ports in servers]
            for target in targets:
                if section == "rest":
                    url = f"http://127.0.0.1:{target.port}{route}"
                    prepare(target, lambda url=url: _rest_checked(url))
                else:
                    url = f"http://127.0.0.1:{target.port}/mcp"
                    prepare(target, lambda url=url: mcp_request(url, scenario.tool))
            rows = compare(ctx, f"metrics-{section}", targets, METRICS_CLIENTS)
            table = medians(rows, targets, METRICS_CLIENTS)
            results[section] = {
                "rows": rows,
                "table": table,
                "cpu_us_added": {
                    str(c): difference(table, "metrics on", "metrics off", c, "cpu_us")
                    for c in METRICS_CLIENTS
                },
                "throughput_on_over_off": {
                    str(c): ratio(table, "metrics on", "metrics off", c, "rps") for c in METRICS_CLIENTS
                },
                "unavailable": {t.name: t.unavailable for t in targets if not t.ready},
            }
    finally:
        for _, server, *_ports in servers:
            server.stop()
    return results


def _rest_checked(url: str) -> Request:
    request = rest_request(url)
    check_rest(request)
    return request


# --- goals and report -------------------------------------------------------------------------------------


def goals(results: dict[str, Any]) -> list[dict[str, str]]:
    """PASS/MISS/PENDING against the goals. Throughput goals are judged on req/s; the CPU-per-request
    ratio (steadier on a shared machine) is shown beside each as a cross-check."""
    verdicts: list[dict[str, str]] = []

    def verdict(goal: str, ok: bool | None, detail: str) -> None:
        status = "PENDING" if ok is None else "PASS" if ok else "MISS"
        verdicts.append({"goal": goal, "status": status, "detail": detail})

    def throughput(section: str, other: str, minimum: float, label: str) -> None:
        for c in CLIENTS:
            ratios = results[section]["ratios"][str(c)]
            r = ratios[f"throughput_naftiko_over_{other}"]
            cpu = ratios[f"cpu_naftiko_over_{other}"]
            by_cpu = "" if cpu is None else f" (by CPU/req {1 / cpu:.2f}x)"
            verdict(f"{label} at {c} client(s)", None if r is None else r >= minimum, _x(r) + by_cpu)

    def cpu_per_request(section: str, other: str, maximum: float, label: str) -> None:
        for c in CLIENTS:
            cpu = results[section]["ratios"][str(c)].get(f"cpu_naftiko_over_{other}")
            verdict(f"{label} at {c} client(s)", None if cpu is None else cpu <= maximum, _x(cpu))

    if "rest" in results:
        # the measure: CPU per request of the server's processes (req/s follows the CPU when the
        # server is the bottleneck, as here; at 1 client it also carries the latency)
        cpu_per_request("rest", "floor", 1.1, "REST CPU/req <= 1.1x floor")
        cpu_per_request("rest", "floor_gc", 1.1, "REST CPU/req <= 1.1x floor+gc (like for like)")
        d = results["rest"]["ratios"]["1"]["p50_naftiko_minus_floor_ms"]
        verdict(
            "REST p50 at 1 client within 0.3 ms of floor",
            None if d is None else d <= 0.3,
            "pending" if d is None else f"{d:+.3f} ms",
        )
    if "mcp" in results:
        throughput("mcp", "floor", 0.9, "MCP calls/s >= 0.9x MCP floor")
        throughput("mcp", "fastmcp", 3.0, "MCP calls/s >= 3x FastMCP peer")
        for other, times in (("floor", 3.0), ("fastmcp", 6.0)):
            for c in CLIENTS:
                cpu = results["mcp"]["ratios"][str(c)][f"cpu_naftiko_over_{other}"]
                verdict(
                    f"MCP CPU/call >= {times:g}x below {'the SDK floor' if other == 'floor' else 'FastMCP'}"
                    f" at {c}",
                    None if cpu is None else 1 / cpu >= times,
                    "pending" if cpu is None else f"{1 / cpu:.2f}x below",
                )
    if "mcp" in results and "rest" in results:
        for c in CLIENTS:
            r = results["mcp_vs_rest"][str(c)]
            cpu = r["cpu_mcp_over_rest"]
            verdict(
                f"MCP CPU/call <= 1.5x REST's at {c} client(s)",
                None if cpu is None else cpu <= 1.5,
                _x(cpu),
            )
        d = results["mcp_vs_rest"]["1"]["p50_mcp_minus_rest_ms"]
        verdict(
            "MCP p50 at 1 client within 0.3 ms of REST",
            None if d is None else d <= 0.3,
            "pending" if d is None else f"{d:+.3f} ms",
        )
    if "startup" in results:
        seed = results["startup"].get("seed", {})
        t = seed.get("ready_s")
        runs = f" (median of {seed['runs']})" if "runs" in seed else ""
        floor = results["startup"].get("floor_rest", {}).get("ready_s")
        if t is not None and floor:  # on a busy machine the ratio is the figure to read
            runs += f"; {t / floor:.2f}x the REST floor's {floor:.3f} s"
        verdict("start-up of the seed < 0.5 s", None if t is None else t < 0.5, _s(t) + runs)
        t = results["startup"].get("generated", {}).get("100", {}).get("ready_s")
        verdict("start-up of 100 capabilities < 3 s", None if t is None else t < 3.0, _s(t))
    return verdicts


def _x(value: float | None) -> str:
    return "pending" if value is None else f"{value:.2f}x"


def _s(value: float | None) -> str:
    return "pending" if value is None else f"{value:.3f} s"


def _cell(cell: dict[str, Any], key: str, fmt: str) -> str:
    return format(cell[key], fmt) if key in cell else "-"


def print_load_table(
    title: str, table: dict[str, Any], clients: Sequence[int], *, balance: bool = False
) -> None:
    """One line per client count and server; ``balance`` adds the busiest process's share of the CPU."""
    print(f"\n{title}")
    print(
        f"  {'clients':>7}  {'server':<10} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>10} "
        f"{'upstream µs/req':>15} {'loadgen µs/req':>14}  errors" + ("  busiest process" if balance else "")
    )
    for c in clients:
        for name, per_clients in table.items():
            cell = per_clients[str(c)]
            if "unavailable" in cell:
                print(f"  {c:>7}  {name:<10} {'not measured: ' + cell['unavailable'][:80]}")
                continue
            print(
                f"  {c:>7}  {name:<10} {cell['rps']:>8.0f} {cell['p50_ms']:>7.2f} {cell['p99_ms']:>7.2f} "
                f"{cell['cpu_us']:>10.0f} {cell['upstream_cpu_us']:>15.1f} {cell['loadgen_cpu_us']:>14.1f}  "
                f"{cell['errors']:>6}" + (f"  {cell['busiest_process_share']:>14.0%}" if balance else "")
            )


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "pending" if value is None else f"{value:{spec}}{suffix}"


def print_report(ctx: Context, results: dict[str, Any]) -> None:
    meta = results["meta"]
    print(
        f"\nnaftiko-runtime bench  {meta['date']}  commit {meta['commit']}"
        f"{' + uncommitted changes outside bench/' if meta['dirty'] else ''}"
    )
    print(f"  capability: {meta['capability']}")
    print(
        f"  machine: {meta['cpus']} CPUs, {meta['python']}, uvicorn loop={meta['uvicorn']['loop']} "
        f"http={meta['uvicorn']['http']}; load generator: {meta['loadgen']}"
    )
    print(f"  {meta['duration_s']:g} s per measurement, {meta['rounds']} round(s), medians shown")

    if "rest" in results:
        rest = results["rest"]
        print_load_table(
            f"REST  GET {ctx.scenario.rest_route.replace('{id}', '{runid}')}  "
            f"(upstream = the fake upstream hit directly)",
            rest["table"],
            CLIENTS,
        )
        print(
            "  ratios   naftiko/floor req/s   naftiko/floor CPU/req   naftiko/floor+gc CPU/req"
            "   p50 naftiko-floor   upstream/naftiko req/s"
        )
        for c in CLIENTS:
            r = rest["ratios"][str(c)]
            print(
                f"  {c:>7}  {_fmt(r['throughput_naftiko_over_floor'], '.2f', 'x'):>19}"
                f"   {_fmt(r['cpu_naftiko_over_floor'], '.2f', 'x'):>21}"
                f"   {_fmt(r.get('cpu_naftiko_over_floor_gc'), '.2f', 'x'):>24}"
                f"   {_fmt(r['p50_naftiko_minus_floor_ms'], '+.3f', ' ms'):>17}"
                f"   {_fmt(r['throughput_upstream_over_naftiko'], '.1f', 'x'):>22}"
            )
        print(
            f"  floor+gc: the floor with the collector threshold naftiko serve sets while serving "
            f"(youngest generation {GC_YOUNG_THRESHOLD:,})"
        )
        print(f"  same JSON as the upstream: {rest['same_json_as_upstream']}")
    if "mcp" in results:
        mcp = results["mcp"]
        print_load_table(
            f"MCP  tools/call {ctx.scenario.tool} (stateless, JSON responses, MCP-Protocol-Version "
            f"2025-11-25)",
            mcp["table"],
            CLIENTS,
        )
        print(
            "  ratios   naftiko/floor req/s   naftiko/fastmcp req/s   naftiko/floor CPU   naftiko/fastmcp CPU"
            "   floor/fastmcp req/s"
        )
        for c in CLIENTS:
            r = mcp["ratios"][str(c)]
            print(
                f"  {c:>7}  {_fmt(r['throughput_naftiko_over_floor'], '.2f', 'x'):>19}"
                f"   {_fmt(r['throughput_naftiko_over_fastmcp'], '.2f', 'x'):>21}"
                f"   {_fmt(r['cpu_naftiko_over_floor'], '.2f', 'x'):>17}"
                f"   {_fmt(r['cpu_naftiko_over_fastmcp'], '.2f', 'x'):>19}"
                f"   {_fmt(r['throughput_floor_over_fastmcp'], '.2f', 'x'):>19}"
            )
    if "mcp_vs_rest" in results:
        print("\nMCP vs REST  naftiko's tools/call next to its REST route (the same upstream operation)")
        print("  clients   MCP/REST CPU per request   p50 MCP-REST")
        for c in CLIENTS:
            r = results["mcp_vs_rest"][str(c)]
            print(
                f"  {c:>7}   {_fmt(r['cpu_mcp_over_rest'], '.2f', 'x'):>24}"
                f"   {_fmt(r['p50_mcp_minus_rest_ms'], '+.3f', ' ms'):>12}"
            )
    if "startup" in results:
        print_startup(results["startup"])
    if "workers" in results:
        workers = results["workers"]
        if "table" in workers:
            print_load_table(
                "WORKERS  naftiko serve --workers N, REST route (busiest process: its share of the CPU used)",
                workers["table"],
                WORKER_CLIENTS,
                balance=True,
            )
            ratios = ", ".join(
                f"{c} clients {_fmt(r, '.2f', 'x')}" for c, r in workers["throughput_2_over_1"].items()
            )
            print(f"  2 workers / 1 worker req/s: {ratios}")
        else:
            print(f"\nWORKERS  {workers['unavailable']}")
    if "metrics" in results:
        print_metrics(results["metrics"])
    if "profile" in results:
        from pyspy import print_profiles

        print_profiles(results["profile"])
    print("\nGOALS")
    for g in results["goals"]:
        print(f"  {g['status']:<7} {g['goal']:<48} {g['detail']}")
    print(f"\nmachine-readable: {(WORK / 'last.json').relative_to(ROOT)}")


def print_metrics(metrics: dict[str, Any]) -> None:
    if "unavailable" in metrics:
        print(f"\nMETRICS  {metrics['unavailable']}")
        return
    for section, result in metrics.items():
        print_load_table(
            f"METRICS  {section.upper()}: no control adapter vs one serving /metrics (tracing off)",
            result["table"],
            METRICS_CLIENTS,
        )
        for c in METRICS_CLIENTS:
            added = result["cpu_us_added"][str(c)]
            ratio_ = result["throughput_on_over_off"][str(c)]
            print(
                f"  {c} clients: metrics add {_fmt(added, '+.1f', ' µs')} of CPU per request;"
                f" req/s on/off {_fmt(ratio_, '.3f', 'x')}"
            )


def print_startup(startup: dict[str, Any]) -> None:
    print("\nSTART-UP AND SIZE  (from launch; median of the runs; RSS of the server's process tree)")
    print(
        "  bound = every port accepts TCP; ready = every port answers its probe (naftiko: GET /openapi.json,"
        " MCP initialize; a floor: any HTTP answer); first 200 = the run route via upstream"
    )
    print(f"  {'what':<38} {'bound s':>8} {'ready s':>8} {'first 200 s':>11} {'RSS MiB':>8}")

    def line(label: str, s: dict[str, Any]) -> None:
        if "unavailable" in s:
            print(f"  {label:<38} not measured: {s['unavailable'][:90]}")
            return
        print(
            f"  {label:<38} {s['bound_s']:>8.3f} {s['ready_s']:>8.3f} {_cell(s, 'first_200_s', '.3f'):>11} "
            f"{s['rss_mib']:>8.1f}"
        )

    line("floor_rest.py (reference)", startup["floor_rest"])
    line("floor_mcp.py (reference: mcp SDK)", startup["floor_mcp"])
    line("naftiko serve seed (REST + MCP)", startup["seed"])
    for count, s in startup.get("generated", {}).items():
        line(f"naftiko serve {count} generated caps", s)
    cost = startup.get("per_capability")
    if cost:
        steps = " / ".join(f"{v:.1f}" for v in cost["ready_ms_per_capability_by_step"])
        print(
            f"  per generated capability (10 operations, 1 REST adapter): "
            f"{cost['ready_ms_per_capability']:.1f} ms,"
            f" {cost['rss_mib_per_capability']:.2f} MiB (least squares); ms per capability from 25->50 and"
            f" 50->100: {steps}; growth: {cost['growth']}"
        )


# --- main -------------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s measurements, one round")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {', '.join(SECTIONS + OPTIONAL_SECTIONS)}",
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds per measurement (default 5, quick 1)"
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds per cell, medians reported (default 3)"
    )
    parser.add_argument("--loadgen", choices=("wrk", "python"), default="wrk", help="prefer wrk (default)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="add the profile section: py-spy samples of naftiko serve and the floors (bench/pyspy.py)",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.profile and "profile" not in args.sections:
        args.sections.append("profile")
    unknown = set(args.sections) - set(SECTIONS + OPTIONAL_SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")
    args.duration = args.duration or (1.0 if args.quick else 5.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.startup_repeats = 1 if args.quick else 3
    args.seed_repeats = 3 if args.quick else 10  # the start-up goal is the median of 10 launches
    return args


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_bench_venv()
    wrk = ensure_wrk() if options.loadgen == "wrk" else None
    loadgen = LoadGenerator(wrk, BENCH_PYTHON)
    scenario = choose_scenario()
    revision = git_revision()
    upstream_port = free_ports(1)[0]
    upstream = Server(
        "upstream",
        [str(PROJECT_PYTHON), str(BENCH / "upstream.py"), str(upstream_port), TOKEN, RUN_ID],
        [upstream_port],
    ).start()
    ctx = Context(
        options,
        scenario,
        loadgen,
        upstream,
        f"http://127.0.0.1:{upstream_port}",
        uvicorn_plumbing(),
        naftiko_serve_help(),
    )
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": revision["head"],
            "dirty": revision["dirty"],
            "capability": scenario.source,
            "cpus": os.cpu_count(),
            "python": f"Python {platform.python_version()}",
            "uvicorn": ctx.plumbing,
            "loadgen": loadgen.name,
            "duration_s": options.duration,
            "rounds": options.rounds,
            "sections": options.sections,
        }
    }
    log(f"load generator: {loadgen.name}; capability: {scenario.source}")
    naftiko: Server | None = None
    try:
        upstream.wait_listening()
        if {"rest", "mcp", "profile"} & set(options.sections) and ctx.serve_help is not None:
            naftiko = start_naftiko(ctx)
        if "rest" in options.sections:
            results["rest"] = rest_section(ctx, naftiko)
        if "mcp" in options.sections:
            results["mcp"] = mcp_section(ctx, naftiko)
        if "rest" in results and "mcp" in results:
            results["mcp_vs_rest"] = mcp_vs_rest(results["rest"]["table"], results["mcp"]["table"])
        if "profile" in options.sections:
            results["profile"] = profile_section(ctx, naftiko)
        if naftiko is not None:
            naftiko.stop()
        if "startup" in options.sections:
            results["startup"] = startup_section(ctx)
        if "workers" in options.sections:
            results["workers"] = workers_section(ctx)
        if "metrics" in options.sections:
            results["metrics"] = metrics_section(ctx)
    finally:
        if naftiko is not None:
            naftiko.stop()
        upstream.stop()
    results["goals"] = goals(results)
    (WORK / "last.json").write_text(json.dumps(results, indent=2) + "\n")
    print_report(ctx, results)
    return 0


def start_naftiko(ctx: Context) -> Server:
    """One ``naftiko serve`` of the capability for both the REST and the MCP sections (ports: REST, MCP)."""
    rest_port, mcp_port = free_ports(2)
    ports = {ctx.scenario.rest_namespace: rest_port, ctx.scenario.mcp_namespace: mcp_port}
    return Server(
        "naftiko", ctx.naftiko_argv([ctx.scenario.path], ports), [rest_port, mcp_port], SERVER_ENV
    ).start()


def naftiko_target(ctx: Context, server: Server | None, which: int) -> Target:
    """The shared ``naftiko serve`` as one section's target: ``which`` 0 is its REST port, 1 its MCP port."""
    if server is None:
        return Target("naftiko", None, unavailable="naftiko serve is not available")
    return Target("naftiko", server, server.ports[which])


if __name__ == "__main__":
    sys.exit(main())
