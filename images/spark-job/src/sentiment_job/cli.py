"""`tweet-sentiment`: operator commands. `stats` prints the summary of an index.

Works against any Elasticsearch the machine can reach, including a `kubectl port-forward`
to the ECK cluster (`--user elastic --password ... --ca-certs ca.crt`, or the env vars).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import stats


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value else default


def _password(args: argparse.Namespace) -> str | None:
    if args.password:
        return str(args.password)
    path = _env("ES_PASSWORD_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise SystemExit(f"error: ES_PASSWORD_FILE={path} cannot be read: {exc.strerror}") from exc
    return None


def client(args: argparse.Namespace) -> Any:
    from elasticsearch import Elasticsearch

    kwargs: dict[str, Any] = {"request_timeout": args.timeout}
    password = _password(args)
    if args.api_key:
        kwargs["api_key"] = args.api_key
    elif args.user or password:
        if not (args.user and password):
            raise SystemExit("error: --user/ES_USERNAME and --password/ES_PASSWORD go together")
        kwargs["basic_auth"] = (args.user, password)
    if args.ca_certs:
        if not Path(args.ca_certs).is_file():
            raise SystemExit(f"error: --ca-certs/ES_CA_CERTS: {args.ca_certs} is not a file")
        kwargs["ca_certs"] = args.ca_certs
    return Elasticsearch(args.es_url, **kwargs)


def run_stats(args: argparse.Namespace) -> int:
    from elasticsearch import ApiError, AuthenticationException, NotFoundError, TransportError

    es = client(args)
    try:
        summary = stats.fetch_summary(es, args.index, top_n=args.top)
    except NotFoundError:
        print(f"error: index {args.index!r} does not exist on {args.es_url}", file=sys.stderr)
        return 1
    except AuthenticationException:
        print(
            f"error: {args.es_url} refused the credentials (check ES_USERNAME/ES_PASSWORD)", file=sys.stderr
        )
        return 1
    except ApiError as exc:
        print(f"error: {args.es_url} answered {exc.meta.status}: {exc.message}", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(f"error: cannot reach Elasticsearch at {args.es_url}: {exc.message}", file=sys.stderr)
        return 1
    finally:
        es.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(stats.format_summary(summary, source=args.es_url), end="")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tweet-sentiment", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stats", help="summary of a sentiment index: labels, polarity, top posts, latency")
    s.add_argument("--es-url", default=_env("ES_URL", "http://localhost:9200"), help="default: $ES_URL")
    s.add_argument("--index", default=_env("ES_INDEX", "tweets-sentiment"), help="default: $ES_INDEX")
    s.add_argument("--user", default=_env("ES_USERNAME"), help="default: $ES_USERNAME")
    # The password itself is never printed; prefer the env var or ES_PASSWORD_FILE over argv.
    s.add_argument(
        "--password", default=_env("ES_PASSWORD"), help="default: $ES_PASSWORD or $ES_PASSWORD_FILE"
    )
    s.add_argument("--api-key", default=_env("ES_API_KEY"), help="default: $ES_API_KEY")
    s.add_argument("--ca-certs", default=_env("ES_CA_CERTS"), help="PEM CA bundle; default: $ES_CA_CERTS")
    s.add_argument("--top", type=int, default=3, help="how many most positive/negative posts (default 3)")
    s.add_argument("--timeout", type=float, default=30.0, help="request timeout in seconds")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=run_stats)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # `tweet-sentiment stats | head`: the reader left; not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
