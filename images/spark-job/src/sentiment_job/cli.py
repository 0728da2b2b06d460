"""`tweet-sentiment`: operator commands. `stats` prints the summary of an index.

Works against any Elasticsearch the machine can reach, including a `kubectl port-forward`
to the ECK cluster (`--user elastic --password ... --ca-certs ca.crt`, or the env vars).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from elasticsearch import (
    ApiError,
    AuthenticationException,
    Elasticsearch,
    NotFoundError,
    TransportError,
)

from . import stats
from .es_setup import secret_values
from .settings import EsSettings, SettingsError


def _safe(text: object, settings: EsSettings) -> str:
    out = str(text)
    for secret in secret_values(settings):
        out = out.replace(secret, "**********")
    return out


def es_settings(args: argparse.Namespace) -> EsSettings:
    """The ES settings: the environment (ES_URL, ES_USERNAME, ES_PASSWORD[_FILE], ES_API_KEY,
    ES_CA_CERTS, ES_INDEX), with the command-line options on top. Same rules as the job."""
    options = {
        "es_url": args.es_url,
        "es_index": args.index,
        "es_username": args.user,
        "es_password": args.password,
        "es_api_key": args.api_key,
        "es_ca_certs": args.ca_certs,
        "es_request_timeout": args.timeout,
    }
    return EsSettings.load(**{k: v for k, v in options.items() if v is not None})


def client(settings: EsSettings) -> Elasticsearch:
    return Elasticsearch(**settings.es_client_kwargs())


def run_stats(args: argparse.Namespace) -> int:
    try:
        settings = es_settings(args)
    except SettingsError as exc:
        print(f"error: invalid setting {exc}", file=sys.stderr)
        return 2
    # Messages name the hosts without credentials (ES_URL may carry user:password@).
    where, index = settings.es_hosts, settings.es_index
    es = client(settings)
    try:
        summary = stats.fetch_summary(es, index, top_n=args.top)
    except NotFoundError:
        print(f"error: index {index!r} does not exist on {where}", file=sys.stderr)
        return 1
    except AuthenticationException:
        print(f"error: {where} refused the credentials (check ES_USERNAME/ES_PASSWORD)", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"error: {where} answered {exc.meta.status}: {_safe(exc.message, settings)}", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(
            f"error: cannot reach Elasticsearch at {where}: {_safe(exc.message, settings)}", file=sys.stderr
        )
        return 1
    finally:
        es.close()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(stats.format_summary(summary, source=where), end="")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tweet-sentiment", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("stats", help="summary of a sentiment index: labels, polarity, top posts, latency")
    # Every ES option defaults to its environment variable, read by the settings layer
    # (EsSettings, the same rules as the job's); the option wins when given.
    s.add_argument("--es-url", help="default: $ES_URL or http://localhost:9200")
    s.add_argument("--index", help="default: $ES_INDEX or tweets-sentiment")
    s.add_argument("--user", help="default: $ES_USERNAME")
    # The password itself is never printed; prefer the env var or ES_PASSWORD_FILE over argv.
    s.add_argument("--password", help="default: $ES_PASSWORD or $ES_PASSWORD_FILE")
    s.add_argument("--api-key", help="default: $ES_API_KEY")
    s.add_argument("--ca-certs", help="PEM CA bundle; default: $ES_CA_CERTS")
    s.add_argument("--top", type=int, default=3, help="how many most positive/negative posts (default 3)")
    s.add_argument("--timeout", type=float, help="request timeout in seconds (default: 30)")
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
