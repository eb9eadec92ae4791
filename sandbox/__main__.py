"""``python -m sandbox serve|seed`` -- see the module docstrings of server.py and seed.py."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time


def _serve(args: argparse.Namespace) -> int:
    from .server import start

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = start(host=args.host, port=args.port)
    if args.seed:
        from .seed import seed_organisation

        manifest = seed_organisation(server.url, manifest_path=args.manifest)
        _seed_cloudtrail(server.url, manifest, args)
    print(server.url, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(0.5)
    server.stop()
    return 0


def _seed(args: argparse.Namespace) -> int:
    from . import seed

    started = time.monotonic()
    if args.groups:
        manifest = seed.seed_synthetic(
            args.endpoint, accounts=args.accounts, groups=args.groups, features=args.features, region=args.region
        )
        if args.manifest:
            with open(args.manifest, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, indent=2)
    else:
        manifest = seed.seed_organisation(args.endpoint, manifest_path=args.manifest)
        _seed_cloudtrail(args.endpoint, manifest, args)
    print(
        f"seeded {len(manifest['feature_groups'])} feature groups in {len(manifest['accounts'])} "
        f"accounts in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    if not args.manifest:
        print(json.dumps(manifest, indent=2))
    return 0


def _seed_cloudtrail(endpoint: str, manifest: dict, args: argparse.Namespace) -> None:
    """Trails, the CloudTrail history and the live generator; adds ``cloudtrail`` to the manifest."""
    if args.cloudtrail_days <= 0:
        return
    from .cloudtrail.trails import cloudtrail_seed

    started = time.monotonic()
    manifest["cloudtrail"] = cloudtrail_seed(
        endpoint,
        manifest,
        days=args.cloudtrail_days,
        live_interval=args.cloudtrail_live or None,
        now=args.cloudtrail_now or None,
    )
    history = manifest["cloudtrail"]["history"]
    print(
        f"CloudTrail: {history.get('files', 0)} log files, {history.get('records', 0)} records over "
        f"{args.cloudtrail_days} days in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    if args.manifest:
        with open(args.manifest, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)


def _add_cloudtrail_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cloudtrail-days", type=int, default=60, help="days of CloudTrail history to seed (0: no trails)"
    )
    parser.add_argument(
        "--cloudtrail-live",
        type=float,
        default=20.0,
        help="seconds between live CloudTrail deliveries (0: no live generator)",
    )
    parser.add_argument(
        "--cloudtrail-now", default="", help="end the history at this ISO 8601 time instead of now (tests)"
    )


def _synth(args: argparse.Namespace) -> int:
    from .cloudtrail import synth

    return synth.run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox endpoint in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4566)
    serve.add_argument("--seed", action="store_true", help="seed the demo organisation on start")
    serve.add_argument("--manifest", help="where --seed writes the manifest")
    _add_cloudtrail_options(serve)
    serve.set_defaults(func=_serve)
    seed = sub.add_parser("seed", help="seed a running sandbox over HTTP")
    seed.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    seed.add_argument("--manifest", help="write the JSON manifest here (default: stdout)")
    seed.add_argument("--groups", type=int, default=0, help="synthetic benchmark: number of groups")
    seed.add_argument("--features", type=int, default=40)
    seed.add_argument("--accounts", type=int, default=5)
    seed.add_argument("--region", default="eu-west-1")
    _add_cloudtrail_options(seed)
    seed.set_defaults(func=_seed)
    synth = sub.add_parser("cloudtrail-synth", help="write synthetic CloudTrail files fast (ingestion benchmark)")
    from .cloudtrail.synth import add_arguments

    add_arguments(synth)
    synth.set_defaults(func=_synth)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
