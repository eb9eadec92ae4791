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

        seed_organisation(server.url, manifest_path=args.manifest)
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
    print(
        f"seeded {len(manifest['feature_groups'])} feature groups in {len(manifest['accounts'])} "
        f"accounts in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    if not args.manifest:
        print(json.dumps(manifest, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox endpoint in the foreground")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4566)
    serve.add_argument("--seed", action="store_true", help="seed the demo organisation on start")
    serve.add_argument("--manifest", help="where --seed writes the manifest")
    serve.set_defaults(func=_serve)
    seed = sub.add_parser("seed", help="seed a running sandbox over HTTP")
    seed.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    seed.add_argument("--manifest", help="write the JSON manifest here (default: stdout)")
    seed.add_argument("--groups", type=int, default=0, help="synthetic benchmark: number of groups")
    seed.add_argument("--features", type=int, default=40)
    seed.add_argument("--accounts", type=int, default=5)
    seed.add_argument("--region", default="eu-west-1")
    seed.set_defaults(func=_seed)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
