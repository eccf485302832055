"""Fallback load generator, used only when ``wrk`` is missing (or with ``--loadgen python``).

N concurrent aiohttp workers in their own process send the same request back to back for a fixed time,
over N keep-alive connections, and print the same one-line JSON summary as ``wrk.lua``. The harness
measures the upstream directly with it too, which shows how many requests per second it can generate.

Usage: python loadgen.py URL --concurrency N --duration S [--method POST] [--body TEXT] [--header 'K: V']
                         [--expect TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def worker(
    session: aiohttp.ClientSession,
    args: argparse.Namespace,
    headers: dict[str, str],
    stop: float,
    latencies: list[float],
    errors: dict[str, int],
) -> int:
    done = 0
    body = args.body.encode() if args.body else None
    while time.perf_counter() < stop:
        started = time.perf_counter()
        try:
            async with session.request(args.method, args.url, data=body, headers=headers) as response:
                payload = await response.read()
                if response.status >= 400:
                    errors["status"] += 1
                elif args.expect and args.expect.encode() not in payload:
                    errors["unexpected"] += 1
                errors["bytes"] += len(payload)
        except aiohttp.ClientError:
            errors["read"] += 1
            continue
        latencies.append(time.perf_counter() - started)
        done += 1
    return done


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--expect", default="", help="text every response body must contain")
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0, "unexpected": 0, "bytes": 0}
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        stop = started + args.duration
        counts = await asyncio.gather(
            *(worker(session, args, headers, stop, latencies, errors) for _ in range(args.concurrency))
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    byte_count = errors.pop("bytes")
    summary = {
        "requests": sum(counts),
        "duration_us": int(elapsed * 1e6),
        "bytes": byte_count,
        "errors": errors,
        "p50_us": int(percentile(latencies, 50) * 1e6),
        "p90_us": int(percentile(latencies, 90) * 1e6),
        "p99_us": int(percentile(latencies, 99) * 1e6),
        "mean_us": sum(latencies) / len(latencies) * 1e6 if latencies else 0.0,
        "max_us": int(latencies[-1] * 1e6) if latencies else 0,
    }
    print("BENCH_JSON " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
