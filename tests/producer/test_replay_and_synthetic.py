"""Replay and synthetic sources, and the health endpoints (no Kafka needed)."""

from __future__ import annotations

import itertools
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.producer.producer_helpers import MALFORMED, dumps, valid_posts, write_jsonl
from tweet_producer.events import Post, Rejected, build_event
from tweet_producer.health import HealthServer
from tweet_producer.metrics import Metrics
from tweet_producer.sources.replay import ReplaySource
from tweet_producer.sources.synthetic import SyntheticSource

OP_DISCONNECT = b'{"errors": [{"title": "operational-disconnect", "type": "https://api.twitter.com/2/problems/operational-disconnect"}]}'


def replay(path: Path, **kwargs: object) -> tuple[list[Post | Rejected], Metrics]:
    metrics = Metrics("replay", registry=CollectorRegistry())
    source = ReplaySource(path, max_post_bytes=65536, metrics=metrics, **{"rate": 0, "loop": False, **kwargs})  # type: ignore[arg-type]
    return list(source.records(threading.Event())), metrics


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_replay_yields_every_line_in_order(tmp_path: Path, compress: bool) -> None:
    posts = valid_posts(50)
    lines = [dumps(p) for p in posts]
    lines.insert(10, b"")  # blank lines are not records
    lines.insert(20, b"   ")
    lines.append(OP_DISCONNECT)  # a recorded stream error message: counted, not published
    lines += [raw for raw, _ in MALFORMED]
    items, metrics = replay(
        write_jsonl(tmp_path / ("p.jsonl.gz" if compress else "p.jsonl"), lines, compress)
    )
    got = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in got] == [p["data"]["id"] for p in posts]
    assert all(p.source == "replay" for p in got)
    assert [i.reason for i in items if isinstance(i, Rejected)] == [reason for _, reason in MALFORMED]
    assert (
        metrics.registry.get_sample_value(
            "producer_stream_error_messages_total", {"source": "replay", "type": "operational-disconnect"}
        )
        == 1
    )


def test_replay_handles_a_last_line_without_newline_and_crlf(tmp_path: Path) -> None:
    a, b = (dumps(p) for p in valid_posts(2))
    path = tmp_path / "p.jsonl"
    path.write_bytes(a + b"\r\n" + b)
    items, _ = replay(path)
    assert len([i for i in items if isinstance(i, Post)]) == 2


def test_a_huge_line_is_dead_lettered_without_reading_it_whole(tmp_path: Path) -> None:
    huge = json.dumps(
        {"data": {"id": "1", "text": "z" * 5_000_000, "created_at": "2026-11-20T10:00:00Z"}}
    ).encode()
    path = write_jsonl(tmp_path / "p.jsonl", [huge, dumps(valid_posts(1)[0])])
    items, _ = replay(path)
    assert isinstance(items[0], Rejected)
    assert items[0].reason == "oversized"
    assert str(len(huge)) in items[0].error
    assert isinstance(items[1], Post)


def test_replay_loop_starts_over(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [dumps(p) for p in valid_posts(3)])
    metrics = Metrics("replay", registry=CollectorRegistry())
    source = ReplaySource(path, rate=0, loop=True, max_post_bytes=65536, metrics=metrics)
    ids = [i.id for i in itertools.islice(source.records(threading.Event()), 7) if isinstance(i, Post)]
    assert ids == ids[:3] + ids[:3] + ids[:1]


def test_replay_at_a_rate_sleeps_in_batches(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [dumps(p) for p in valid_posts(1000)])
    metrics = Metrics("replay", registry=CollectorRegistry())
    sleeps: list[float] = []
    source = ReplaySource(
        path, rate=500, loop=False, max_post_bytes=65536, metrics=metrics, sleep=sleeps.append
    )
    assert len(list(source.records(threading.Event()))) == 1000
    # 500/s → batches of 5: at most one sleep per 5 posts, never one per post. (The sleeps are
    # recorded, not slept: the rate is one any machine parses faster than, even a loaded one;
    # at 5,000/s a busy 2-core machine fell behind the schedule and never slept.)
    assert 0 < len(sleeps) <= 1000 // 5


def test_synthetic_source_is_seeded_limited_and_valid(event_validator) -> None:  # type: ignore[no-untyped-def]
    def run(seed: int) -> list[Post | Rejected]:
        metrics = Metrics("synthetic", registry=CollectorRegistry())
        return list(SyntheticSource(rate=0, seed=seed, limit=300, metrics=metrics).records(threading.Event()))

    items = run(7)
    assert len(items) == 300
    assert all(isinstance(i, Post) and i.source == "synthetic" for i in items)
    for item in items:
        assert isinstance(item, Post)
        event_validator.validate(build_event(item, "2026-11-20T10:00:00.000Z"))
    assert len({i.id for i in items}) == 300
    assert [i.text for i in run(7)] == [i.text for i in items]  # type: ignore[union-attr]


def test_synthetic_stops_when_asked() -> None:
    metrics = Metrics("synthetic", registry=CollectorRegistry())
    stop = threading.Event()
    source = SyntheticSource(rate=0, seed=1, limit=0, metrics=metrics)
    count = 0
    for _ in source.records(stop):
        count += 1
        assert metrics.connected
        if count == 1000:
            stop.set()
    assert count == 1000
    assert not metrics.connected


def test_health_endpoints() -> None:
    metrics = Metrics("replay", registry=CollectorRegistry())
    state = {"ready": False}
    server = HealthServer("127.0.0.1", 0, metrics.registry, lambda: (state["ready"], "Kafka not reachable"))
    server.start()

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        assert get("/healthz") == (200, "ok\n")
        assert get("/readyz") == (503, "not ready: Kafka not reachable\n")
        state["ready"] = True
        assert get("/readyz") == (200, "ready\n")
        status, body = get("/metrics")
        assert status == 200
        assert 'producer_stream_connected{source="replay"} 0.0' in body
        assert get("/nope")[0] == 404
    finally:
        server.stop()


def test_the_samples_malformed_file_is_all_dead_letters_or_counted_errors() -> None:
    """images/producer/samples/malformed.jsonl (the samples' catalogue of bad lines): every
    line is a dead-letter record except the X error message, which is counted."""
    from tests.producer.producer_helpers import PRODUCER_DIR

    path = PRODUCER_DIR / "samples" / "malformed.jsonl"
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    items, metrics = replay(path)
    assert not [i for i in items if isinstance(i, Post)]
    assert len(items) == len(lines) - 1
    assert {i.reason for i in items if isinstance(i, Rejected)} >= {
        "bad_json",
        "missing_field",
        "wrong_type",
        "bad_shape",
        "oversized",
    }
    assert (
        metrics.registry.get_sample_value(
            "producer_stream_error_messages_total", {"source": "replay", "type": "operational-disconnect"}
        )
        == 1
    )
