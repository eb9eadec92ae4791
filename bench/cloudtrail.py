#!/usr/bin/env python
"""CloudTrail sandbox benchmark: the demo's 60-day history and the synthetic writer.

Starts a sandbox (``python -m sandbox serve``) in its own process, then measures

1. seeding the demo organisation's CloudTrail: trails + 60 days of history (the part
   ``make demo`` adds to the sandbox seed), files and records written;
2. ``python -m sandbox cloudtrail-synth`` in ``--mode sandbox`` (files written inside the
   sandbox) for ``--events`` records over ``--days`` days, 30% Feature Store;
3. the same writer in ``--mode s3`` (S3 PUTs through boto3 over HTTP) for ``--s3-events``.

Prints records/s, files/s and MB, and records them in docs/benchmarks.md ("CloudTrail sandbox").

    python bench/cloudtrail.py [--events 2000000] [--days 30] [--s3-events 200000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, write_report_section  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _synth(url: str, mode: str, events: int, days: float, bucket: str, processes: int) -> dict:
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable, "-m", "sandbox", "cloudtrail-synth", "--events", str(events), "--days", str(days),
            "--fs-share", "0.3", "--endpoint", url, "--mode", mode, "--bucket", bucket,
            "--processes", str(processes), "--json",
        ],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=7200,
    )  # fmt: skip
    report = json.loads(out.stdout)
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--s3-events", type=int, default=200_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--no-report", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    from sandbox import seed
    from sandbox.cloudtrail.trails import cloudtrail_seed

    port = _free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    url = server.stdout.readline().strip()
    rows = []
    try:
        t0 = time.perf_counter()
        manifest = seed.seed_organisation(url)
        organisation = time.perf_counter() - t0
        t0 = time.perf_counter()
        section = cloudtrail_seed(url, manifest, days=60, live_interval=None)
        history = section["history"]
        seconds = time.perf_counter() - t0
        print(
            f"demo history: {history['records']:,} records in {history['files']:,} files (+{history['digest_files']} "
            f"digests) over 60 days in {seconds:.1f} s (organisation seed before it: {organisation:.1f} s)"
        )
        rows.append(
            f"| demo history (trails + 60 days, in-sandbox) | {history['records']:,} | {history['files']:,} | — "
            f"| {seconds:.1f} | {history['records'] / seconds:,.0f} | {history['files'] / seconds:,.0f} |"
        )
        for mode, events, bucket in (
            ("sandbox", args.events, "bench-synth-sandbox"),
            ("s3", args.s3_events, "bench-synth-s3"),
        ):
            report = _synth(
                url,
                mode,
                events,
                args.days if mode == "sandbox" else max(1.0, args.days * events / args.events),
                bucket,
                args.processes,
            )
            print(
                f"synth --mode {mode}: {report['records']:,} records ({report['feature_store_records']:,} Feature Store) "
                f"in {report['files']:,} files, {report['bytes'] / 1e6:.0f} MB gzipped ({report['uncompressed_bytes'] / 1e6:.0f} MB JSON) "
                f"in {report['wall_seconds']} s = {report['records'] / report['wall_seconds']:,.0f} records/s"
            )
            rows.append(
                f"| synth `--mode {mode}` ({args.processes} processes, gzip 1) | {report['records']:,} | {report['files']:,} "
                f"| {report['bytes'] / 1e6:,.0f} MB ({report['uncompressed_bytes'] / 1e6:,.0f} MB JSON) | {report['wall_seconds']} "
                f"| {report['records'] / report['wall_seconds']:,.0f} | {report['files'] / report['wall_seconds']:,.0f} |"
            )
    finally:
        server.terminate()
        server.wait(timeout=60)
    if not args.no_report:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        body = (
            f"`python bench/cloudtrail.py --events {args.events} --days {args.days:g} --s3-events {args.s3_events}` "
            f"on {os.cpu_count()} cores ({platform.python_implementation()} {platform.python_version()}, "
            f"load average {load:.1f} when it finished); sandbox in its own process.\n\n"
            "| run | records | files | size | seconds | records/s | files/s |\n"
            "|---|---:|---:|---|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
            "The history's seconds include building every call, routing through the trails' selectors, "
            "gzip (level 4) and the digest files. `--mode sandbox` renders records from templates in worker "
            "processes and writes into the sandbox's S3 directly; `--mode s3` pays one HTTP PUT per file "
            "(boto3, 8 threads) and is bound by the sandbox's request handling. A load average above 2 means "
            "other work shared the two cores: the figures are then lower bounds. See docs/sandbox.md § CloudTrail."
        )
        write_report_section("CloudTrail sandbox", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
