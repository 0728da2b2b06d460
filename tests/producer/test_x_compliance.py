"""X's compliance streams (issue 18): the wire format, each event's meaning, the 8
connections with X's reconnect rules and `backfill_minutes`, against the local fake X."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.producer.fake_x import KEEPALIVE, FakeX, Stall, Status, Stream
from tests.producer.producer_helpers import ProducerProcess, poll_until, read_topic
from tweet_producer.events import Deletion, InvalidRecord, Rejected, Skipped, deletion_from_x_compliance
from tweet_producer.metrics import Metrics
from tweet_producer.sources.base import FatalSourceError
from tweet_producer.sources.x_compliance import POST_COMPLIANCE_PATH, USER_COMPLIANCE_PATH, XComplianceSource
from tweet_sentiment_common import contract

TOKEN = "AAAAAAAAAAAAAAAAAAAAA-test-token"  # noqa: S105 - a test value
AT = "2026-11-20T10:05:00.123Z"


def post_event(kind: str, post_id: str, **extra: Any) -> dict[str, Any]:
    """X's documented shape: {"data": {<event>: {"tweet": {"id", "author_id"}, "event_at", ...}}}."""
    return {"data": {kind: {"tweet": {"id": post_id, "author_id": "2244994945"}, "event_at": AT, **extra}}}


def user_event(kind: str, user_id: str = "2244994945") -> dict[str, Any]:
    return {"data": {kind: {"user": {"id": user_id}, "event_at": AT}}}


def nd(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode() + b"\r\n"


@pytest.mark.parametrize("kind", ["delete", "drop", "withheld"])
def test_post_events_delete_the_post(kind: str) -> None:
    extra = {"withheld_in_countries": ["DE"]} if kind == "withheld" else {}
    got = deletion_from_x_compliance(post_event(kind, "1850000000000000001", **extra))
    assert got == contract.new_deletion(
        source="x", id="1850000000000000001", reason=kind, deleted_at=AT, author_id="2244994945"
    )
    assert got.key == b"x:1850000000000000001"  # the post event's key: same partition


def test_an_edit_deletes_the_version_it_replaced() -> None:
    edit = post_event("tweet_edit", "3", initial_tweet_id="1", edit_tweet_ids=["1", "2", "3"])
    got = deletion_from_x_compliance(edit)
    assert isinstance(got, Deletion)
    assert (got.id, got.reason) == ("2", "tweet_edit")
    # Without the version list: the initial post.
    got = deletion_from_x_compliance(post_event("tweet_edit", "2", initial_tweet_id="1"))
    assert isinstance(got, Deletion)
    assert got.id == "1"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (post_event("undrop", "1"), "no_action"),
        (user_event("user_undelete"), "no_action"),
        (user_event("user_unprotect"), "no_action"),
        (user_event("user_unsuspend"), "no_action"),
        (user_event("user_profile_modification"), "no_action"),
    ],
)
def test_reverse_events_are_skipped(doc: dict[str, Any], reason: str) -> None:
    assert deletion_from_x_compliance(doc) == Skipped("x", reason)


@pytest.mark.parametrize("kind", ["user_delete", "user_protect", "user_suspend", "user_withheld"])
def test_account_events_delete_the_authors_posts(kind: str) -> None:
    got = deletion_from_x_compliance(user_event(kind, "2244994945"))
    assert isinstance(got, Deletion)
    assert (got.id, got.author_id, got.reason) == ("2244994945", "2244994945", kind)
    assert got.key == b"x:author:2244994945"  # never a post's key
    event = contract.deletion_dict(got, AT)
    assert contract.deletion_author(event) == ("x", "2244994945")
    assert contract.deletion_target(event) is None  # not the post x:2244994945


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ([], "bad_shape"),
        ({"data": {}}, "bad_shape"),
        ({"data": {"delete": {"tweet": {"id": "1"}, "event_at": AT}, "drop": {}}}, "bad_shape"),
        ({"data": {"retweet_of_a_new_kind": {}}}, "bad_value"),
        ({"data": {"delete": {"event_at": AT}}}, "bad_shape"),
        ({"data": {"delete": {"tweet": {"id": 1}, "event_at": AT}}}, "wrong_type"),
        ({"data": {"delete": {"tweet": {"id": "1"}, "event_at": "yesterday"}}}, "bad_value"),
        (post_event("tweet_edit", "1", initial_tweet_id="1"), "bad_value"),
    ],
)
def test_broken_events_are_dead_letters(doc: Any, reason: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        deletion_from_x_compliance(doc)
    assert caught.value.reason == reason


@pytest.fixture
def fake() -> Iterator[FakeX]:
    server = FakeX()
    yield server
    server.close()


def take(
    source: XComplianceSource, count: int, timeout: float = 30
) -> tuple[list[Any], BaseException | None]:
    items: list[Any] = []
    error: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        try:
            for item in source.records(stop):
                items.append(item)
                if len(items) >= count:
                    break
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    stop.set()
    thread.join(10)
    return items, (error[0] if error else None)


def make_source(fake: FakeX, sleeps: list[float]) -> tuple[XComplianceSource, Metrics]:
    metrics = Metrics("x", registry=CollectorRegistry())
    source = XComplianceSource(
        base_url=fake.base_url,
        token=TOKEN,
        stall_timeout=60,
        max_post_bytes=65536,
        metrics=metrics,
        sleep=sleeps.append,
    )
    return source, metrics


def test_eight_partitions_keepalives_reconnect_with_backfill(fake: FakeX) -> None:
    fake.compliance[(POST_COMPLIANCE_PATH, 3)] = deque(
        [
            Stream(
                [nd(post_event("delete", "101")), KEEPALIVE, nd(post_event("drop", "102")), b"{not json\r\n"]
            ),
            # The reconnect's backfill repeats the delete: harmless downstream.
            Stream([nd(post_event("delete", "101")), nd(post_event("withheld", "103")), Stall(30)]),
        ]
    )
    fake.compliance[(USER_COMPLIANCE_PATH, 2)] = deque(
        [Stream([KEEPALIVE, nd(user_event("user_suspend")), nd(user_event("user_unsuspend")), Stall(30)])]
    )
    sleeps: list[float] = []
    source, metrics = make_source(fake, sleeps)
    items, error = take(source, 7)
    assert error is None

    deletions = [i for i in items if isinstance(i, Deletion)]
    posts = [d for d in deletions if d.reason != "user_suspend"]
    assert [(d.id, d.reason) for d in posts] == [
        ("101", "delete"),
        ("102", "drop"),
        ("101", "delete"),
        ("103", "withheld"),
    ]
    assert [i.reason for i in items if isinstance(i, Skipped)] == ["no_action"]
    (account,) = [d for d in deletions if d.reason == "user_suspend"]
    assert account.key == b"x:author:2244994945"
    assert [r.reason for r in items if isinstance(r, Rejected)] == ["bad_json"]

    streams = [r for r in fake.requests if "compliance" in r["path"]]
    partitions = {(r["path"], r["query"]["partition"][0]) for r in streams}
    assert partitions == {
        (p, str(n)) for p in (POST_COMPLIANCE_PATH, USER_COMPLIANCE_PATH) for n in (1, 2, 3, 4)
    }
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in streams)
    third = [
        r["query"] for r in streams if r["path"] == POST_COMPLIANCE_PATH and r["query"]["partition"] == ["3"]
    ]
    assert third == [{"partition": ["3"]}, {"partition": ["3"], "backfill_minutes": ["5"]}]
    assert sleeps == [0.25]  # the stream ended: X's linear schedule
    reconnects = metrics.registry.get_sample_value(
        "producer_stream_reconnects_total", {"source": "x", "reason": "closed"}
    )
    assert reconnects == 1


def test_a_revoked_token_on_any_partition_ends_the_source(fake: FakeX) -> None:
    fake.compliance[(USER_COMPLIANCE_PATH, 4)] = deque([Status(401)])
    source, _ = make_source(fake, [])
    items, error = take(source, 1)
    assert items == []
    assert isinstance(error, FatalSourceError)
    assert "401" in str(error)


@pytest.mark.kafka
def test_compliance_deletions_reach_kafka_with_the_post_key(
    fake: FakeX,
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    run_producer: Callable[..., ProducerProcess],
) -> None:
    topic, dlq = new_topic("posts"), new_topic("dlq")
    fake.compliance[(POST_COMPLIANCE_PATH, 1)] = deque(
        [
            Stream(
                [
                    nd(post_event("delete", "1850000000000000001")),
                    nd(post_event("drop", "1850000000000000002")),
                    Stall(30),
                ]
            )
        ]
    )
    producer = run_producer(
        SOURCE="x-compliance",
        X_API_BASE_URL=fake.base_url,
        X_BEARER_TOKEN=TOKEN,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        KAFKA_TOPIC=topic,
        KAFKA_DLQ_TOPIC=dlq,
    )
    poll_until(
        lambda: producer.metric("producer_deletions_published_total") == 2, 60, "2 deletions published"
    )
    producer.terminate()
    assert producer.wait(30) == 0, producer.log
    records = read_topic(kafka_bootstrap, topic)
    assert sorted(r.key.decode() for r in records) == ["x:1850000000000000001", "x:1850000000000000002"]
    for record in records:
        deletion, _ = contract.check_deletion(json.loads(record.value))
        assert record.key == deletion.key
