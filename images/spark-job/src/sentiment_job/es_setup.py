"""`tweet-sentiment-setup-es`: install the index templates and create the two indices.

Idempotent: templates are PUT (same body, same result), an index that exists already gets
the template's mappings PUT onto it, which is a no-op when they agree and a clear error when
an older index has a conflicting field type. The job runs this at start too, so a fresh
cluster needs no manual step. Template settings reach only new indices, so an existing index
whose `refresh_interval` is still a value an earlier template shipped (or unset) gets the
template's; any other value is an operator's (e.g. `-1` during a backfill) and is kept, as
this runs at every start of the job. Index names are used directly (no alias): `ES_INDEX` and
`ES_DEADLETTER_INDEX` are concrete indices and each template matches exactly its index.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

from elasticsearch import ApiError, Elasticsearch
from elasticsearch import ConnectionError as ESConnectionError

from tweet_sentiment_common.settings import split_urls

from .settings import EsSettings, SettingsError

log = logging.getLogger(__name__)

TEMPLATE_RESOURCES = {"documents": "index-template.json", "deadletter": "deadletter-template.json"}
# `index.refresh_interval` values earlier versions of the templates gave their indices: an
# existing index still at one of them is brought to the current template's value.
EARLIER_REFRESH_INTERVALS = frozenset({"1s"})


class SetupError(RuntimeError):
    """Elasticsearch refused the templates or mappings (not a transient failure)."""


def load_template(kind: str) -> dict[str, Any]:
    """The template body shipped in the package (`documents` or `deadletter`)."""
    text = (resources.files("sentiment_job") / "resources" / TEMPLATE_RESOURCES[kind]).read_text("utf-8")
    template: dict[str, Any] = json.loads(text)
    return template


def document_fields() -> list[str]:
    """The fields of a post document, as the template maps them."""
    return list(load_template("documents")["template"]["mappings"]["properties"])


def deadletter_fields() -> list[str]:
    return list(load_template("deadletter")["template"]["mappings"]["properties"])


def templates_for(settings: EsSettings) -> dict[str, tuple[str, dict[str, Any]]]:
    """template name → (index, body), with index_patterns pointed at the configured index."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for kind, index in (("documents", settings.es_index), ("deadletter", settings.es_deadletter_index)):
        body = copy.deepcopy(load_template(kind))
        body["index_patterns"] = [index]
        out[f"{index}-template"] = (index, body)
    return out


def refresh_interval_update(current: str | None, template: str | None) -> str | None:
    """The `refresh_interval` to put on an existing index (None: leave it as it is).

    `current` is the index's own setting (None when unset), `template` the template's."""
    if template is None or current == template:
        return None
    if current is None or current in EARLIER_REFRESH_INTERVALS:
        return template
    return None  # set by an operator: theirs wins


def _update_refresh_interval(client: Elasticsearch, index: str, body: dict[str, Any]) -> None:
    template = body["template"].get("settings", {}).get("index", {}).get("refresh_interval")
    got = client.indices.get_settings(index=index, name="index.refresh_interval", flat_settings=True)
    current = got.get(index, {}).get("settings", {}).get("index.refresh_interval")
    new = refresh_interval_update(current, template)
    if new is not None:
        client.indices.put_settings(index=index, settings={"index": {"refresh_interval": new}})
        log.info("index %s: refresh_interval %s -> %s (the template's)", index, current or "unset", new)
    elif template is not None and current != template:
        log.info("index %s keeps refresh_interval %s (the template's is %s)", index, current, template)


def install(client: Elasticsearch, settings: EsSettings) -> list[str]:
    """Put both templates, create or update both indices. Returns the index names."""
    done = []
    for name, (index, body) in templates_for(settings).items():
        try:
            client.indices.put_index_template(name=name, **body)
            if client.indices.exists(index=index):
                mappings = body["template"]["mappings"]
                client.indices.put_mapping(
                    index=index, properties=mappings["properties"], dynamic=mappings["dynamic"]
                )
                _update_refresh_interval(client, index, body)
            else:
                try:
                    client.indices.create(index=index)
                except ApiError as exc:
                    # Another job replica (or a producer of data) created it meanwhile.
                    if exc.status_code != 400 or "resource_already_exists" not in str(exc):
                        raise
        except ApiError as exc:
            if exc.status_code in (429,) or exc.status_code >= 500:
                raise
            raise SetupError(f"Elasticsearch refused the setup of {index!r}: {exc}") from exc
        done.append(index)
        log.info("index %s ready (template %s)", index, name)
    return done


def install_with_retries(settings: EsSettings, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """`install`, retrying while Elasticsearch is unreachable or busy (it may start after us)."""
    # Local: through the transform the sink brings pandas and the analyzers, +0.3 s to the
    # start of `tweet-sentiment stats`, which imports this module (python -X importtime).
    from .sink import backoff_seconds

    client = Elasticsearch(**settings.es_client_kwargs())
    # Messages name the hosts without credentials (ES_URL may carry user:password@).
    where = settings.es_hosts
    try:
        attempt = 0
        while True:
            try:
                return install(client, settings)
            except (ESConnectionError, ApiError) as exc:
                status = getattr(exc, "status_code", None)
                if isinstance(exc, ApiError) and status is not None and status < 500 and status != 429:
                    raise SetupError(
                        f"Elasticsearch at {where} refused the request: {_safe(exc, settings)}"
                    ) from exc
                if attempt >= settings.es_max_retries:
                    raise SetupError(
                        f"Elasticsearch at {where} not reachable after {attempt + 1} attempts: {_safe(exc, settings)}"
                    ) from exc
                delay = backoff_seconds(attempt)
                log.warning("Elasticsearch not ready (%s); retrying in %.1fs", type(exc).__name__, delay)
                sleep(delay)
                attempt += 1
    finally:
        client.close()


def _safe(exc: BaseException, settings: EsSettings) -> str:
    """An exception's text with every configured secret masked (belt and braces: the client
    holds no credential in its hosts, but a message must never be the one that leaks)."""
    text = str(exc)
    for secret in secret_values(settings):
        text = text.replace(secret, "**********")
    return text


def secret_values(settings: EsSettings) -> list[str]:
    """Every credential the settings hold, for masking (the URLs' userinfo included)."""
    values = [s.get_secret_value() for s in (settings.es_password, settings.es_api_key) if s is not None]
    for url in split_urls(settings.es_url.get_secret_value()):
        parts = urlsplit(url)
        if parts.password:
            values += [parts.password, unquote(parts.password)]
    return [v for v in values if v]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = EsSettings.load()
    except SettingsError as exc:
        print(f"error: invalid setting {exc}", file=sys.stderr)
        return 2
    try:
        indices = install_with_retries(settings)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"ready: {', '.join(indices)} on {settings.es_hosts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
