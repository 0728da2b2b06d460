"""X API v2 streams: the volume sample stream and the filtered stream (with rule sync).

Follows X's documented reconnect rules (backoff.py): keep-alive newlines are normal, no
byte for X_STALL_TIMEOUT_SECONDS is a stall, network errors back off linearly, HTTP
errors exponentially, 429 from a minute or until x-rate-limit-reset; 401/403 are fatal.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import requests
import urllib3

from tweet_producer.backoff import Failure, ReconnectBackoff, rate_limit_reset
from tweet_producer.metrics import Metrics
from tweet_producer.settings import XRule
from tweet_producer.sources.base import FatalSourceError, Item, LineSplitter, Source, parse_line, split_limit
from tweet_producer.sources.xenvelope import x_line_parser

log = logging.getLogger(__name__)

SAMPLE_PATH = "/2/tweets/sample/stream"
FILTERED_PATH = "/2/tweets/search/stream"
RULES_PATH = "/2/tweets/search/stream/rules"
# note_tweet carries the full text of long posts.
TWEET_FIELDS = "created_at,lang,author_id,note_tweet"
USER_AGENT = "tweet-sentiment-producer/0.1"
READ_SIZE = 64 * 1024
TOKEN_VARS = "X_BEARER_TOKEN / X_BEARER_TOKEN_FILE"  # noqa: S105 - names of settings, not a secret
# Errors while reading an open stream: the connection is gone or stalled.
STREAM_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
    ValueError,
)


class _Stopped(Exception):
    """Shutdown was requested while a rules request was being retried."""


def auth_error(status: int, what: str, body: str) -> FatalSourceError:
    if status == 401:
        hint = f"the bearer token in {TOKEN_VARS} is missing, wrong or revoked"
    else:
        hint = f"the app behind the bearer token in {TOKEN_VARS} has no access to {what}"
    return FatalSourceError(f"X API answered HTTP {status} for {what}: {hint}. Response: {body[:300]}")


def plan_rule_sync(current: list[dict[str, Any]], desired: list[XRule]) -> tuple[list[XRule], list[str]]:
    """(rules to add, ids to delete) so the stream's rules become exactly `desired`.

    Rules are matched on (value, tag): a rule whose tag changed is replaced.
    """
    wanted = {(r.value, r.tag) for r in desired}
    have: dict[tuple[str, str | None], str] = {}
    delete: list[str] = []
    for rule in current:
        key = (rule.get("value"), rule.get("tag"))
        if key in wanted and key not in have:
            have[key] = str(rule.get("id"))
        else:
            delete.append(str(rule.get("id")))
    add: list[XRule] = []
    for wanted_rule in desired:
        key = (wanted_rule.value, wanted_rule.tag)
        if key not in have:
            have[key] = ""
            add.append(wanted_rule)
    return add, delete


def _body(resp: requests.Response) -> str:
    try:
        return resp.text[:2000]
    except (requests.RequestException, ValueError):
        return ""


class XStreamSource(Source):
    name = "x"

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        filtered: bool,
        rules: list[XRule] | None,
        stall_timeout: float,
        max_post_bytes: int,
        metrics: Metrics,
        session: requests.Session | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.time,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__(metrics)
        self.base_url = base_url.rstrip("/")
        self.filtered = filtered
        self.rules = rules
        self.stall_timeout = stall_timeout
        self.max_post_bytes = max_post_bytes
        self.connect_timeout = connect_timeout
        self._session = session or requests.Session()
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
        self._sleep = sleep
        self._clock = clock
        self._parse = x_line_parser(self.name, metrics)
        self._response: requests.Response | None = None

    @property
    def stream_url(self) -> str:
        return self.base_url + (FILTERED_PATH if self.filtered else SAMPLE_PATH)

    def stream_params(self, reconnecting: bool) -> dict[str, str]:
        """Query parameters of a connection (`reconnecting`: not the first attempt)."""
        return {"tweet.fields": TWEET_FIELDS}

    # -- rules ---------------------------------------------------------------------------

    def _rules_call(self, method: str, body: dict[str, Any] | None, stop: threading.Event) -> dict[str, Any]:
        """One rules request, retried on network/HTTP errors with X's backoff; auth errors are fatal."""
        backoff = ReconnectBackoff()
        sleep = self._sleep or stop.wait
        url = self.base_url + RULES_PATH
        while True:
            try:
                resp = self._session.request(
                    method, url, json=body, headers=self._headers, timeout=(self.connect_timeout, 30)
                )
            except requests.RequestException as exc:
                delay = backoff.next_delay(Failure.NETWORK)
                log.warning("rules %s %s failed (%s); retrying in %.2fs", method, url, exc, delay)
            else:
                if resp.status_code in (200, 201):
                    return dict(resp.json())
                if resp.status_code in (401, 403):
                    raise auth_error(resp.status_code, RULES_PATH, _body(resp))
                if resp.status_code == 400:
                    raise FatalSourceError(
                        f"X rejected the rules request ({method} {url}): {_body(resp)[:500]}"
                    )
                if resp.status_code == 429:
                    delay = backoff.next_delay(
                        Failure.RATE_LIMIT, rate_limit_reset(resp.headers), self._clock()
                    )
                else:
                    delay = backoff.next_delay(Failure.HTTP)
                log.warning("rules %s %s: HTTP %d; retrying in %.2fs", method, url, resp.status_code, delay)
            if stop.is_set():
                raise _Stopped
            sleep(delay)

    def sync_rules(self, stop: threading.Event) -> tuple[list[XRule], list[str]]:
        """Make the filtered stream's rules exactly X_RULES: delete stale ones, add missing ones."""
        assert self.rules is not None
        current = self._rules_call("GET", None, stop).get("data") or []
        add, delete = plan_rule_sync(current, self.rules)
        if delete:
            answer = self._rules_call("POST", {"delete": {"ids": delete}}, stop)
            if answer.get("errors"):
                raise FatalSourceError(f"X refused to delete stream rules {delete}: {answer['errors']}")
        if add:
            payload = [r.model_dump(exclude_none=True) for r in add]
            answer = self._rules_call("POST", {"add": payload}, stop)
            if answer.get("errors"):
                raise FatalSourceError(f"X refused stream rules from X_RULES: {answer['errors']}")
        log.info(
            "stream rules synced: %d kept, %d added, %d deleted",
            len(self.rules) - len(add),
            len(add),
            len(delete),
        )
        return add, delete

    # -- stream --------------------------------------------------------------------------

    def interrupt(self) -> None:
        resp = self._response
        if resp is not None:
            with contextlib.suppress(AttributeError, ValueError, RuntimeError, OSError):
                resp.raw.shutdown()

    def _read(self, resp: requests.Response, stop: threading.Event) -> Iterator[Item]:
        splitter = LineSplitter(split_limit(self.max_post_bytes))
        raw = resp.raw
        while not stop.is_set():
            chunk = raw.read1(READ_SIZE)
            if not chunk:
                return
            for line in splitter.feed(chunk):
                item = parse_line(line, self.name, self.max_post_bytes, self._parse)
                if item is not None:
                    yield item

    def records(self, stop: threading.Event) -> Generator[Item, None, None]:
        sleep = self._sleep or stop.wait
        if self.filtered and self.rules is not None:
            try:
                self.sync_rules(stop)
            except _Stopped:
                return
        url = self.stream_url
        backoff = ReconnectBackoff()
        attempts = 0
        while not stop.is_set():
            params = self.stream_params(reconnecting=attempts > 0)
            attempts += 1
            try:
                resp = self._session.get(
                    url,
                    params=params,
                    headers=self._headers,
                    stream=True,
                    timeout=(self.connect_timeout, self.stall_timeout),
                )
            except requests.RequestException as exc:
                reason, delay = "network", backoff.next_delay(Failure.NETWORK)
                log.warning("cannot connect to %s: %s", url, exc)
            else:
                with resp:
                    status = resp.status_code
                    if status == 200:
                        backoff.reset()
                        self._response = resp
                        self.metrics.set_connected(True)
                        log.info("connected to %s", url)
                        try:
                            yield from self._read(resp, stop)
                            reason = "closed"
                            log.warning("%s closed the stream", url)
                        except STREAM_ERRORS as exc:
                            stalled = isinstance(exc, (requests.Timeout, urllib3.exceptions.TimeoutError))
                            reason = "stall" if stalled else "network"
                            if stalled:
                                log.warning("no data from %s for %ss: stalled", url, self.stall_timeout)
                            else:
                                log.warning("stream from %s broke: %s", url, exc)
                        finally:
                            self._response = None
                            self.metrics.set_connected(False)
                        delay = backoff.next_delay(Failure.NETWORK)
                    elif status in (401, 403):
                        raise auth_error(status, url, _body(resp))
                    elif status == 429:
                        reset_at = rate_limit_reset(resp.headers)
                        reason = "rate_limited"
                        delay = backoff.next_delay(Failure.RATE_LIMIT, reset_at, self._clock())
                        log.warning(
                            "X rate limit (HTTP 429, x-rate-limit-remaining=%s, reset=%s)",
                            resp.headers.get("x-rate-limit-remaining"),
                            resp.headers.get("x-rate-limit-reset"),
                        )
                    else:
                        reason = "http_error"
                        delay = backoff.next_delay(Failure.HTTP)
                        log.warning("%s answered HTTP %d: %s", url, status, _body(resp)[:300])
            if stop.is_set():
                return
            self.metrics.reconnect(reason)
            log.info("reconnecting to %s in %.2fs (%s)", url, delay, reason)
            sleep(delay)
