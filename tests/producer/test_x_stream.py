"""The X source against a local server speaking X's v2 streaming wire format.

Backoff sleeps are injected (recorded, not slept) and the clock is fixed, so the exact
reconnect schedule is asserted without waiting for it. Only the stall uses real time: a
0.3 s stall timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from tests.producer.fake_x import (
    KEEPALIVE,
    OPERATIONAL_DISCONNECT,
    FakeX,
    ResetBeforeResponse,
    Stall,
    Status,
    Stream,
    WaitSeen,
    line,
    tweet,
)
from tweet_producer.events import Post, Rejected
from tweet_producer.metrics import Metrics
from tweet_producer.settings import XRule
from tweet_producer.sources.base import FatalSourceError
from tweet_producer.sources.x import XStreamSource, plan_rule_sync

NOW = 1_700_000_000.0
TOKEN = "AAAAAAAAAAAAAAAAAAAAA-test-token"  # noqa: S105 - a test value


@pytest.fixture
def fake() -> Iterator[FakeX]:
    server = FakeX()
    yield server
    server.close()


def make_source(
    fake: FakeX, sleeps: list[float], filtered: bool = False, rules: list[XRule] | None = None
) -> tuple[XStreamSource, Metrics]:
    metrics = Metrics("x", registry=CollectorRegistry())
    source = XStreamSource(
        base_url=fake.base_url,
        token=TOKEN,
        filtered=filtered,
        rules=rules,
        stall_timeout=0.3,
        max_post_bytes=65536,
        metrics=metrics,
        sleep=sleeps.append,
        clock=lambda: NOW,
        connect_timeout=5,
    )
    return source, metrics


def drain(source: XStreamSource, fake: FakeX) -> tuple[list[Post | Rejected], BaseException | None]:
    """Everything the source yields until it gives up; tells the fake which posts arrived."""
    items: list[Post | Rejected] = []
    error: BaseException | None = None
    result: dict[str, object] = {}

    def run() -> None:
        try:
            for item in source.records(threading.Event()):
                items.append(item)
                if isinstance(item, Post):
                    fake.seen(item.id)
        except FatalSourceError as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the X source did not finish"
    error = result.get("error")  # type: ignore[assignment]
    return items, error


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_reconnect_schedule_follows_x_rules_and_every_post_arrives_once(fake: FakeX) -> None:
    long_text = "a long post " * 200
    fake.script.extend(
        [
            # 1: posts among keep-alives, then X's operational-disconnect and a clean end.
            Stream(
                [
                    KEEPALIVE,
                    line(tweet("1")),
                    KEEPALIVE,
                    KEEPALIVE,
                    line(tweet("2")),
                    line(OPERATIONAL_DISCONNECT),
                ]
            ),
            Status(503),
            Status(503),
            Status(
                429,
                {
                    "x-rate-limit-limit": "50",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(int(NOW) + 42),
                },
            ),
            Status(429),
            ResetBeforeResponse(),
            # 7: a post, then silence: the client must give up after the stall timeout.
            Stream([line(tweet("3")), Stall(10)]),
            # 8: a post, then the connection is reset mid-stream.
            Stream([line(tweet("4")), WaitSeen("4")], end="reset"),
            # 9: a long post (note_tweet) split over two chunks, a bad line, a clean end.
            Stream(
                [
                    line(tweet("5")),
                    line(tweet("6", long_text[:270], note_tweet={"text": long_text}))[:100],
                    line(tweet("6", long_text[:270], note_tweet={"text": long_text}))[100:],
                    b'{"data": {"id": "7"}}\r\n',
                ]
            ),
            Status(401),
        ]
    )
    sleeps: list[float] = []
    source, metrics = make_source(fake, sleeps)
    items, error = drain(source, fake)

    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == ["1", "2", "3", "4", "5", "6"]
    assert posts[5].text == long_text
    assert all(p.source == "x" and p.url == f"https://x.com/i/web/status/{p.id}" for p in posts)
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [(r.reason, r.raw) for r in rejected] == [("missing_field", '{"data": {"id": "7"}}')]

    assert sleeps == [
        0.25,  # stream ended after a good connection: network schedule, restarted
        5.0,  # 503
        10.0,  # 503 again: exponential
        42.0,  # 429 with x-rate-limit-reset 42 s ahead
        120.0,  # 429 without the header: exponential from 60 s, second attempt
        0.5,  # reset before any response: second network failure since the last good connection
        0.25,  # stall after a good connection
        0.25,  # reset mid-stream after a good connection
        0.25,  # clean end after a good connection
    ]
    assert isinstance(error, FatalSourceError)
    assert "401" in str(error)
    assert "X_BEARER_TOKEN" in str(error)
    assert TOKEN not in str(error)

    reconnects = {
        reason: value(metrics, "producer_stream_reconnects_total", source="x", reason=reason)
        for reason in ("closed", "http_error", "rate_limited", "network", "stall")
    }
    assert reconnects == {"closed": 2, "http_error": 2, "rate_limited": 2, "network": 2, "stall": 1}
    assert (
        value(metrics, "producer_stream_error_messages_total", source="x", type="operational-disconnect") == 1
    )
    assert value(metrics, "producer_stream_connected", source="x") == 0

    streams = fake.stream_requests()
    assert len(streams) == 10
    for request in streams:
        assert request["path"] == "/2/tweets/sample/stream"
        assert request["query"]["tweet.fields"] == ["created_at,lang,author_id,note_tweet"]
        assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"


def test_403_is_fatal_and_names_the_token_setting(fake: FakeX) -> None:
    fake.script.append(Status(403))
    sleeps: list[float] = []
    source, _ = make_source(fake, sleeps)
    items, error = drain(source, fake)
    assert items == []
    assert sleeps == []
    assert isinstance(error, FatalSourceError)
    assert "403" in str(error)
    assert "X_BEARER_TOKEN" in str(error)


def test_connected_gauge_is_1_while_streaming(fake: FakeX) -> None:
    fake.script.append(Stream([line(tweet("1")), WaitSeen("checked")]))
    source, metrics = make_source(fake, [])
    stop = threading.Event()
    records = source.records(stop)
    assert isinstance(next(records), Post)
    assert value(metrics, "producer_stream_connected", source="x") == 1
    fake.seen("checked")
    stop.set()
    records.close()
    assert value(metrics, "producer_stream_connected", source="x") == 0


def test_interrupt_unblocks_a_quiet_stream_at_once(fake: FakeX) -> None:
    fake.script.append(Stream([line(tweet("1")), Stall(30)]))
    metrics = Metrics("x", registry=CollectorRegistry())
    source = XStreamSource(
        base_url=fake.base_url,
        token=TOKEN,
        filtered=False,
        rules=None,
        stall_timeout=30,
        max_post_bytes=65536,
        metrics=metrics,
    )
    stop = threading.Event()
    got: list[object] = []
    finished = threading.Event()

    def run() -> None:
        for item in source.records(stop):
            got.append(item)
        finished.set()

    threading.Thread(target=run, daemon=True).start()
    deadline = threading.Event()
    while not got and not deadline.wait(0.01):
        pass
    stop.set()
    source.interrupt()
    assert finished.wait(5), "records() kept blocking on a quiet stream after interrupt()"


# --- rules --------------------------------------------------------------------------------


def test_plan_rule_sync_adds_missing_and_deletes_stale_and_changed() -> None:
    current = [
        {"id": "1", "value": "cats", "tag": "a"},
        {"id": "2", "value": "stale"},
        {"id": "3", "value": "dogs", "tag": "old-tag"},
        {"id": "4", "value": "cats", "tag": "a"},  # a duplicate of 1
    ]
    desired = [XRule(value="cats", tag="a"), XRule(value="dogs", tag="new-tag"), XRule(value="birds")]
    add, delete = plan_rule_sync(current, desired)
    assert [(r.value, r.tag) for r in add] == [("dogs", "new-tag"), ("birds", None)]
    assert delete == ["2", "3", "4"]
    assert plan_rule_sync([{"id": "1", "value": "cats", "tag": "a"}], [XRule(value="cats", tag="a")]) == (
        [],
        [],
    )


def test_rules_are_synced_through_the_rules_endpoint_before_streaming(fake: FakeX) -> None:
    fake.rules = {
        "11": {"id": "11", "value": "cats lang:en", "tag": "cats"},
        "12": {"id": "12", "value": "stale rule"},
    }
    fake.script.extend([Stream([line(tweet("1"))]), Status(401)])
    desired = [XRule(value="cats lang:en", tag="cats"), XRule(value="dogs -is:retweet", tag="dogs")]
    source, _ = make_source(fake, [], filtered=True, rules=desired)
    items, error = drain(source, fake)
    assert [i.id for i in items if isinstance(i, Post)] == ["1"]
    assert isinstance(error, FatalSourceError)

    calls = [(r["method"], r["path"], r["body"]) for r in fake.requests]
    assert calls[:3] == [
        ("GET", "/2/tweets/search/stream/rules", None),
        ("POST", "/2/tweets/search/stream/rules", {"delete": {"ids": ["12"]}}),
        ("POST", "/2/tweets/search/stream/rules", {"add": [{"value": "dogs -is:retweet", "tag": "dogs"}]}),
    ]
    assert calls[3][1] == "/2/tweets/search/stream"
    assert sorted((r["value"], r.get("tag")) for r in fake.rules.values()) == [
        ("cats lang:en", "cats"),
        ("dogs -is:retweet", "dogs"),
    ]
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in fake.requests)


def test_rules_already_in_sync_cause_no_writes(fake: FakeX) -> None:
    fake.rules = {"11": {"id": "11", "value": "cats", "tag": "cats"}}
    source, _ = make_source(fake, [], filtered=True, rules=[XRule(value="cats", tag="cats")])
    assert source.sync_rules(threading.Event()) == ([], [])
    assert [r["method"] for r in fake.requests] == ["GET"]


def test_a_rule_x_rejects_is_fatal_with_x_s_explanation(fake: FakeX) -> None:
    source, _ = make_source(fake, [], filtered=True, rules=[XRule(value="INVALID(")])
    with pytest.raises(FatalSourceError, match="Invalid Rule"):
        source.sync_rules(threading.Event())


def test_rules_sync_retries_server_errors_with_x_s_backoff(fake: FakeX) -> None:
    fake.rules_failures.extend(
        [Status(503), Status(429, {"x-rate-limit-reset": str(int(NOW) + 7)}), Status(503)]
    )
    sleeps: list[float] = []
    source, _ = make_source(fake, sleeps, filtered=True, rules=[XRule(value="cats")])
    add, delete = source.sync_rules(threading.Event())
    assert ([r.value for r in add], delete) == (["cats"], [])
    assert sleeps == [5.0, 7.0, 10.0]
    assert [r["value"] for r in fake.rules.values()] == ["cats"]


def test_a_revoked_token_during_rules_sync_is_fatal(fake: FakeX) -> None:
    fake.rules_failures.append(Status(401))
    source, _ = make_source(fake, [], filtered=True, rules=[XRule(value="cats")])
    with pytest.raises(FatalSourceError, match="X_BEARER_TOKEN"):
        source.sync_rules(threading.Event())
