"""Plumbing for the benchmark: paths, the bench venv, server processes, /proc readings, HTTP checks and
the load generator. ``run.py`` composes these into the measurements; nothing here prints a report.

Standard library only, so ``run.py`` runs under any Python 3.11.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
LOGS = WORK / "logs"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
NAFTIKO = ROOT / ".venv" / "bin" / "naftiko"
BENCH_VENV = WORK / "venv"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
#: uvicorn[standard]: the peer runs on uvloop and httptools, as the floors and ``naftiko serve`` do
BENCH_REQUIREMENTS = ("fastmcp==4.2.3", "uvicorn[standard]", "aiohttp>=3.9", "py-spy>=0.3")
SHARED_SEED = ROOT.parent / "shared" / "seeds" / "000_bc4b74cf6a97205f.txt"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: What every benchmarked server is configured with; the upstream insists on the bearer token.
TOKEN = "signkey-bench-7f3a9c2e5b1d4f60"
EVENT_KEY = "evtkey-bench-0000"
RUN_ID = "01KAX7T9ZB3R5C8D2E4F6G7H8J"
SERVER_ENV = {"INNGEST_SIGNING_KEY": TOKEN, "INNGEST_EVENT_KEY": EVENT_KEY}


class BenchError(RuntimeError):
    """A measurement could not be made (a server did not start, or answered wrongly)."""


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# --- the bench venv and tools -----------------------------------------------------------------------


def ensure_bench_venv() -> Path:
    """Create ``bench/.work/venv`` with the bench-only tools, once (a stamp records what was installed)."""
    stamp = BENCH_VENV / "bench-requirements.txt"
    wanted = "\n".join(BENCH_REQUIREMENTS) + "\n"
    if BENCH_PYTHON.exists() and stamp.exists() and stamp.read_text() == wanted:
        return BENCH_PYTHON
    base = PROJECT_PYTHON if PROJECT_PYTHON.exists() else Path(sys.executable)
    log(f"creating the bench venv {BENCH_VENV} ({', '.join(BENCH_REQUIREMENTS)})")
    if not BENCH_PYTHON.exists():
        subprocess.run([str(base), "-m", "venv", str(BENCH_VENV)], check=True)
    subprocess.run(
        [
            str(BENCH_PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *BENCH_REQUIREMENTS,
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return BENCH_PYTHON


def ensure_wrk() -> str | None:
    """The path of ``wrk``, installing the Debian package when we are root and it is missing."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    log("wrk is missing: apt-get install -y wrk")
    for command in (
        ["apt-get", "install", "-y", "wrk"],
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "wrk"],
    ):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        found = shutil.which("wrk")
        if found:
            break
    return found


def uvicorn_plumbing() -> dict[str, str]:
    """The event loop and HTTP parser uvicorn's ``auto`` picks in the project's venv."""
    probe = (
        "import importlib.util as u;"
        "print('uvloop' if u.find_spec('uvloop') else 'asyncio',"
        " 'httptools' if u.find_spec('httptools') else 'h11')"
    )
    out = subprocess.run([str(PROJECT_PYTHON), "-c", probe], capture_output=True, text=True, check=True)
    loop, http = out.stdout.split()
    return {"loop": loop, "http": http}


def git_revision() -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    # bench/ itself does not count: only changes to the code being measured
    changed = git("status", "--porcelain", "--", ".", ":(exclude)bench")
    return {"head": git("rev-parse", "--short", "HEAD") or "unknown", "dirty": bool(changed)}


def naftiko_serve_help() -> str | None:
    """``naftiko serve --help`` text, or None when the command is not there at all."""
    if not NAFTIKO.exists():
        return None
    out = subprocess.run([str(NAFTIKO), "serve", "--help"], capture_output=True, text=True, check=False)
    return out.stdout if out.returncode == 0 else None


# --- ports and processes ----------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free right now (all held open together while choosing them)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """A server process we started, with its log file."""

    name: str
    argv: list[str]
    ports: list[int]
    env: Mapping[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    log_path: Path | None = None

    def start(self) -> Server:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}.log"
        log_file = self.log_path.open("wb")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            cwd=ROOT,
            start_new_session=True,
        )
        log_file.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 8) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_listening(self, timeout: float = 30.0, interval: float = 0.002) -> float:
        """Seconds from launch until every port accepts connections."""
        waiting = set(self.ports)
        deadline = time.perf_counter() + timeout
        while waiting:
            if not self.alive():
                raise BenchError(f"{self.name} exited before listening:\n{self.log_tail()}")
            if time.perf_counter() > deadline:
                raise BenchError(f"{self.name} not listening on {sorted(waiting)} after {timeout} s")
            waiting = {port for port in waiting if not port_open(port)}
            if waiting:
                time.sleep(interval)
        return time.perf_counter() - self.started_at

    def wait_serving(
        self, timeout: float = 60.0, interval: float = 0.002, probes: Mapping[int, Probe] | None = None
    ) -> float:
        """Seconds from launch until every port answers a request.

        ``probes`` gives a port the request that counts (e.g. ``GET /openapi.json`` from a REST adapter,
        an MCP ``initialize``): the port is serving once it answers it with 200. A port without one is
        serving once it answers any HTTP request (an unknown path's 404 will do). ``naftiko serve`` binds
        its sockets before it builds the apps, so a TCP connect alone succeeds too early.
        """
        deadline = time.perf_counter() + timeout
        self.wait_listening(timeout, interval)
        for port in self.ports:
            probe = (probes or {}).get(port, answers_http)
            while True:
                if not self.alive():
                    raise BenchError(f"{self.name} exited while starting:\n{self.log_tail()}")
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise BenchError(f"{self.name} not serving HTTP on port {port} after {timeout} s")
                try:
                    if probe(port, min(remaining, 5.0)):
                        break
                except OSError:
                    pass
                time.sleep(interval)
        return time.perf_counter() - self.started_at

    def stop(self) -> None:
        """SIGTERM, then SIGKILL to the process group this server was started in (ours alone)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=8)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@contextlib.contextmanager
def running(servers: Sequence[Server]) -> Iterator[None]:
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


# --- /proc ------------------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn workers, multiprocessing helpers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of the given processes (those that have exited count as zero)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / CLOCK_TICKS


def rss_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- HTTP -------------------------------------------------------------------------------------------


MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-11-25",
}


def http(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def mcp_rpc(url: str, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    status, payload = http(url, method="POST", body=body, headers=MCP_HEADERS)
    if status != 200:
        raise BenchError(f"{method} at {url}: HTTP {status}: {payload[:300]!r}")
    message: dict[str, Any] = json.loads(payload)
    if "error" in message:
        raise BenchError(f"{method} at {url}: JSON-RPC error {message['error']}")
    return message


#: ``probe(port, timeout)``: whether the server on ``port`` answered the request that shows it serves
Probe = Callable[[int, float], bool]


def answers_http(port: int, timeout: float) -> bool:
    """Any HTTP answer (an unknown path's 404 will do): the app is serving."""
    http(f"http://127.0.0.1:{port}/bench-ready-probe", timeout=timeout)
    return True


def answers_openapi(port: int, timeout: float) -> bool:
    """A REST adapter serves its OpenAPI description (built with its routes)."""
    return http(f"http://127.0.0.1:{port}/openapi.json", timeout=timeout)[0] == 200


def answers_mcp(port: int, timeout: float) -> bool:
    """An MCP adapter answers ``initialize`` at ``/mcp``."""
    client = {"name": "bench", "version": "1"}
    params = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}).encode()
    status, payload = http(
        f"http://127.0.0.1:{port}/mcp", method="POST", body=body, headers=MCP_HEADERS, timeout=timeout
    )
    return status == 200 and b'"result"' in payload


def compile_project() -> None:
    """Compile the project's modules to bytecode, as installing a wheel does. The project is installed
    editable, so without this a launch under ``PYTHONDONTWRITEBYTECODE`` compiles every module of the
    runtime from source, a cost its dependencies (installed with their bytecode) and a deployment do
    not pay."""
    argv = [str(PROJECT_PYTHON), "-m", "compileall", "-q", str(ROOT / "src")]
    subprocess.run(argv, check=True, capture_output=True)


def wait_http(check: Any, timeout: float = 30.0) -> None:
    """Retry ``check()`` until it stops raising (a server whose socket is up may not serve yet)."""
    deadline = time.perf_counter() + timeout
    while True:
        try:
            check()
            return
        except (OSError, BenchError, ValueError) as error:
            if time.perf_counter() > deadline:
                raise BenchError(str(error)) from error
            time.sleep(0.05)


# --- load ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request the load generator repeats; every response body must contain ``expect``."""

    url: str
    method: str = "GET"
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: str = RUN_ID


@dataclass
class LoadGenerator:
    """``wrk`` (one thread, Lua script ``wrk.lua``) or the fallback ``loadgen.py`` in the bench venv."""

    wrk: str | None
    python: Path

    @property
    def name(self) -> str:
        return "wrk (1 thread, bench/wrk.lua)" if self.wrk else "python aiohttp (bench/loadgen.py)"

    def run(self, request: Request, concurrency: int, duration: float) -> dict[str, Any]:
        """Drive ``request`` with ``concurrency`` keep-alive connections; the summary plus the load
        generator's own CPU time."""
        before = children_cpu_seconds()
        if self.wrk:
            seconds = max(1, round(duration))
            argv = [self.wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s"]
            argv += ["-s", str(BENCH / "wrk.lua"), request.url]
            env = {
                **os.environ,
                "BENCH_METHOD": request.method,
                "BENCH_BODY": request.body,
                "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in request.headers.items()),
                "BENCH_EXPECT": request.expect,
            }
        else:
            argv = [str(self.python), str(BENCH / "loadgen.py"), request.url]
            argv += ["--concurrency", str(concurrency), "--duration", str(duration)]
            argv += ["--method", request.method, "--body", request.body, "--expect", request.expect]
            for name, value in request.headers.items():
                argv += ["--header", f"{name}: {value}"]
            env = dict(os.environ)
        out = subprocess.run(
            argv, capture_output=True, text=True, env=env, check=False, timeout=duration + 60
        )
        lines = [line for line in out.stdout.splitlines() if line.startswith("BENCH_JSON ")]
        if out.returncode != 0 or not lines:
            raise BenchError(
                f"load generator failed ({out.returncode}): {out.stdout[-400:]} {out.stderr[-400:]}"
            )
        summary: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH_JSON "))
        summary["loadgen_cpu_s"] = children_cpu_seconds() - before
        return summary
