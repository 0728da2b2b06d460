"""`python3 -m devtools.cluster build|up|down|status`: the local Kubernetes cluster by hand."""

from __future__ import annotations

import argparse
import sys

from devtools.services.common import ServiceError

from .cluster import build, down, status, up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m devtools.cluster")
    parser.add_argument("action", choices=["build", "up", "down", "status"])
    args = parser.parse_args(argv)
    try:
        if args.action == "build":
            print(build())
        elif args.action == "up":
            started = up()
            print(
                f"cluster: {'started' if started else 'already running'}; kubeconfig: {status()['kubeconfig']}"
            )
        elif args.action == "down":
            print(f"cluster: {'stopped' if down() else 'nothing to stop'}")
        else:
            info = status()
            for key, value in info.items():
                print(f"{key:24} {value}")
            return 0 if info["node_ready"] else 3
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
