"""The Bluesky source against a local Jetstream (a real WebSocket server)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.producer.fake_jetstream import (
    DID,
    Connection,
    FakeJetstream,
    JetstreamFeed,
    account,
    identity,
    post_create,
    post_delete,
    post_update,
)
from tweet_producer.events import Deletion, Post, Rejected
from tweet_producer.metrics import Metrics
from tweet_producer.sources.bluesky import JetstreamSource, jetstream_url, read_cursor, write_cursor


@pytest.fixture
def jetstream() -> Iterator[FakeJetstream]:
    server = FakeJetstream([])
    yield server
    server.close()


def make_source(
    server: FakeJetstream, cursor_file: Path, sleeps: list[float]
) -> tuple[JetstreamSource, Metrics]:
    metrics = Metrics("bluesky", registry=CollectorRegistry())
    source = JetstreamSource(
        server.url, cursor_file, max_post_bytes=65536, metrics=metrics, sleep=sleeps.append
    )
    return source, metrics


def take(source: JetstreamSource, count: int, timeout: float = 20) -> list[Post | Rejected]:
    """The first `count` items, read in a thread so a hang fails the test instead of blocking it."""
    items: list[Post | Rejected] = []
    stop = threading.Event()

    def run() -> None:
        for item in source.records(stop):
            items.append(item)
            if len(items) >= count:
                stop.set()
                break

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    stop.set()
    assert not thread.is_alive() or len(items) >= count, f"only {len(items)} of {count} items"
    return items


def test_only_post_creates_and_deletes_are_published_and_reconnects_resume_from_the_cursor(
    jetstream: FakeJetstream, tmp_path: Path
) -> None:
    like = post_create(1_005, "like1", "not a post")
    like["commit"]["collection"] = "app.bsky.feed.like"
    jetstream.script.extend(
        [
            Connection(
                [
                    identity(1_000),
                    account(1_001),
                    post_create(1_002, "rkeyA", "first post", ["en"]),
                    post_update(1_003, "rkeyA", "edited first post"),
                    post_delete(1_004, "rkeyA"),
                    like,
                    post_create(1_006, "rkeyC", "sin idioma", None, createdAt="not a date"),
                    "{not json",
                ]
            ),
            Connection([post_create(1_007, "rkeyD", "after the reconnect", ["pt-BR"])], hold=True),
        ]
    )
    sleeps: list[float] = []
    source, metrics = make_source(jetstream, tmp_path / "cursor", sleeps)
    items = take(source, 5)

    (deletion,) = [i for i in items if isinstance(i, Deletion)]
    assert (deletion.id, deletion.reason, deletion.position) == (
        f"at://{DID}/app.bsky.feed.post/rkeyA",
        "delete",
        1_004,
    )
    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == [
        f"at://{DID}/app.bsky.feed.post/rkeyA",
        f"at://{DID}/app.bsky.feed.post/rkeyC",
        f"at://{DID}/app.bsky.feed.post/rkeyD",
    ]
    assert [p.text for p in posts] == ["first post", "sin idioma", "after the reconnect"]
    assert [p.lang for p in posts] == ["en", "und", "pt-BR"]
    assert posts[1].created_at == "1970-01-01T00:00:00.001Z"  # from time_us, createdAt was garbage
    assert [p.position for p in posts] == [1_002, 1_006, 1_007]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [(r.reason, r.raw, r.source) for r in rejected] == [("bad_json", "{not json", "bluesky")]

    first, second = jetstream.queries()[:2]
    assert first == {"wantedCollections": ["app.bsky.feed.post"]}
    # Resumes from the last event it read (a delete, then the like, then the post at 1_006).
    assert second == {"wantedCollections": ["app.bsky.feed.post"], "cursor": ["1006"]}
    assert sleeps == [0.25]
    assert (
        metrics.registry.get_sample_value(
            "producer_stream_reconnects_total", {"source": "bluesky", "reason": "closed"}
        )
        == 1
    )


def test_the_saved_cursor_is_used_on_restart(jetstream: FakeJetstream, tmp_path: Path) -> None:
    cursor_file = tmp_path / "state" / "jetstream.cursor"
    jetstream.script.extend(
        [
            Connection([post_create(5_000, "r1", "one", ["en"])], hold=True),
            Connection([post_create(5_001, "r2", "two", ["en"])], hold=True),
        ]
    )
    source, _ = make_source(jetstream, cursor_file, [])
    (post,) = take(source, 1)
    assert isinstance(post, Post)
    assert post.position is not None
    source.commit(post.position)
    assert cursor_file.read_text().strip() == "5000"

    restarted, _ = make_source(jetstream, cursor_file, [])
    (again,) = take(restarted, 1)
    assert isinstance(again, Post)
    assert jetstream.queries()[1]["cursor"] == ["5000"]


def test_refused_handshake_backs_off_like_an_http_error(tmp_path: Path) -> None:
    import socket

    # A port that accepts TCP but answers the WebSocket upgrade with HTTP 503.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop_serving = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop_serving.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    sleeps: list[float] = []
    stop = threading.Event()
    metrics = Metrics("bluesky", registry=CollectorRegistry())

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            stop.set()

    source = JetstreamSource(f"ws://127.0.0.1:{port}/subscribe", tmp_path / "c", 65536, metrics, sleep=sleep)
    try:
        assert list(source.records(stop)) == []
    finally:
        stop_serving.set()
        server.join(5)
        listener.close()
    assert sleeps == [5.0, 10.0, 20.0]


def test_jetstream_url_keeps_existing_parameters_and_replaces_the_cursor() -> None:
    assert jetstream_url("wss://js.example/subscribe", None) == (
        "wss://js.example/subscribe?wantedCollections=app.bsky.feed.post"
    )
    assert jetstream_url("wss://js.example/subscribe?cursor=1&wantedDids=did:plc:a", 42) == (
        "wss://js.example/subscribe?wantedDids=did%3Aplc%3Aa&wantedCollections=app.bsky.feed.post&cursor=42"
    )


def test_cursor_file_round_trip_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "cursor"
    assert read_cursor(path) is None
    write_cursor(path, 1_725_911_162_329_308)
    assert read_cursor(path) == 1_725_911_162_329_308
    assert not (tmp_path / "cursor.tmp").exists()
    path.write_text("garbage")
    assert read_cursor(path) is None


def test_a_dropped_connection_resumes_from_the_cursor_without_a_gap(tmp_path: Path) -> None:
    """A long paced stream dropped twice mid-stream (no close frame): each reconnect asks
    for the `time_us` of the last event read, and every post arrives, the one at each
    cursor at most twice (Jetstream replays from the cursor inclusive; the key dedupes)."""
    events = [post_create(1_000_000 + i, f"feed{i:04d}", f"post {i}", ["en"]) for i in range(600)]
    feed = JetstreamFeed(events, rate=2000, drop_after=[200, 400])
    try:
        sleeps: list[float] = []
        metrics = Metrics("bluesky", registry=CollectorRegistry())
        source = JetstreamSource(
            feed.url, tmp_path / "cursor", max_post_bytes=65536, metrics=metrics, sleep=sleeps.append
        )
        items: list[Post | Rejected] = []
        stop = threading.Event()

        def run() -> None:
            for item in source.records(stop):
                items.append(item)
                if len({i.id for i in items if isinstance(i, Post)}) == len(events):
                    stop.set()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(30)
        stop.set()
    finally:
        feed.close()
    posts = [i for i in items if isinstance(i, Post)]
    assert {p.id for p in posts} == {f"at://{DID}/app.bsky.feed.post/feed{i:04d}" for i in range(600)}
    assert len(posts) <= len(events) + 2
    assert feed.dropped == 2
    cursors = feed.cursors()
    assert cursors[0] is None
    assert len(cursors) == 3
    assert all(c is not None for c in cursors[1:])
    assert [p.position for p in posts] == sorted(p.position for p in posts)
    assert (
        metrics.registry.get_sample_value(
            "producer_stream_reconnects_total", {"source": "bluesky", "reason": "network"}
        )
        == 2
    )
