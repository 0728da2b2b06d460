"""`python3 -m devtools.services {kafka,es} {up,down,status,logs}`: the local services by hand."""

from __future__ import annotations

import argparse
import sys

from .common import ServiceError
from .elasticsearch import ElasticsearchNode
from .kafka import KafkaBroker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m devtools.services")
    parser.add_argument("service", choices=["kafka", "es"])
    parser.add_argument("action", choices=["up", "down", "status", "fetch"])
    args = parser.parse_args(argv)
    svc = KafkaBroker() if args.service == "kafka" else ElasticsearchNode()
    where = svc.bootstrap if isinstance(svc, KafkaBroker) else svc.url
    try:
        if args.action == "up":
            started = svc.up()
            print(
                f"{args.service}: {'started' if started else 'already running'} on {where}; log: {svc.log_file}"
            )
        elif args.action == "down":
            stopped = svc.down()
            print(f"{args.service}: {'stopped' if stopped else 'was not started by us (nothing to stop)'}")
        elif args.action == "fetch":
            from .elasticsearch import es_distribution
            from .kafka import kafka_jars

            print(kafka_jars() if args.service == "kafka" else es_distribution())
        else:
            up = svc.is_up()
            print(f"{args.service}: {'up' if up else 'down'} on {where}; log: {svc.log_file}")
            return 0 if up else 3
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
