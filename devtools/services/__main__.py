"""`python3 -m devtools.services {kafka,es,secured} {up,down,status,fetch,manifests}`: the local services by hand.

`secured` is the second, secured Kafka + Elasticsearch pair (devtools/services/secured):
`--namespace`, `--bind` and `--advertised` name what its certificates and manifests cover;
`manifests` prints the Kubernetes objects (with secrets) for that namespace, or writes
them to `--output` (mode 0600).
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import ServiceError
from .elasticsearch import ElasticsearchNode
from .kafka import KafkaBroker


def _secured(args: argparse.Namespace) -> int:
    from .secured import manifests
    from .secured.material import SecuredConfig
    from .secured.services import SecuredServices

    services = SecuredServices(
        SecuredConfig(namespace=args.namespace, bind=args.bind, advertised=args.advertised)
    )
    where = f"kafka {services.kafka.bootstrap} (SASL_SSL), es {services.es.url}"
    if args.action == "up":
        started = services.up()
        for name, flag, log in (
            ("kafka", started.kafka, services.kafka.log_file),
            ("es", started.es, services.es.log_file),
        ):
            print(f"secured {name}: {'started' if flag else 'already running'}; log: {log}")
        print(f"secured: {where}; CA certificates and passwords in {services.material.dir}")
    elif args.action == "down":
        stopped = services.down()
        print(
            f"secured: kafka {'stopped' if stopped.kafka else 'not running'}, es {'stopped' if stopped.es else 'not running'}"
        )
    elif args.action == "manifests":
        text = manifests.dump(manifests.objects(services.config, services.material))
        if args.output:
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text)
            print(f"secured: manifests for namespace {args.namespace} in {args.output}")
        else:
            sys.stdout.write(text)
    elif args.action == "fetch":
        from .elasticsearch import es_distribution
        from .kafka import kafka_jars

        print(kafka_jars())
        print(es_distribution())
    else:
        status = services.status()
        print(
            f"secured: kafka {'up' if status.kafka else 'down'}, es {'up' if status.es else 'down'}; {where}"
        )
        return 0 if status.kafka and status.es else 3
    return 0


def main(argv: list[str] | None = None) -> int:
    from .secured.material import DEFAULT_NAMESPACE

    parser = argparse.ArgumentParser(prog="python3 -m devtools.services")
    parser.add_argument("service", choices=["kafka", "es", "secured"])
    parser.add_argument("action", choices=["up", "down", "status", "fetch", "manifests"])
    secured = parser.add_argument_group("secured only")
    secured.add_argument(
        "--namespace",
        default=DEFAULT_NAMESPACE,
        help="namespace of the Services named in certificates and manifests",
    )
    secured.add_argument(
        "--bind", default="127.0.0.1", help="IP the client listeners bind (10.244.0.1 for the test cluster)"
    )
    secured.add_argument(
        "--advertised",
        default="",
        help="IP the broker advertises and the EndpointSlices use (default: --bind)",
    )
    secured.add_argument(
        "--output", default="", help="manifests: write to this file (0600) instead of stdout"
    )
    args = parser.parse_args(argv)
    try:
        if args.service == "secured":
            return _secured(args)
        if args.action == "manifests":
            parser.error("manifests is for the secured services only")
        return _plain(args)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _plain(args: argparse.Namespace) -> int:
    svc = KafkaBroker() if args.service == "kafka" else ElasticsearchNode()
    where = svc.bootstrap if isinstance(svc, KafkaBroker) else svc.url
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
