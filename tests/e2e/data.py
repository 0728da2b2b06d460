"""What the end-to-end tests feed the pipeline and how they read what came out.

Replay files with a known set of valid and malformed posts, and plain reads of Kafka topics
and Elasticsearch indices. The processes themselves are started by `devtools.harness`, the
harness the demo and the benchmarks use too.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from devtools.demo import SAMPLE

# ----------------------------------------------------------------------------- Kafka / ES reads


def topic_size(bootstrap: str, topic: str) -> int:
    """Records in `topic` (end minus beginning offsets over all partitions)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return 0
        end = consumer.end_offsets(tps)
        begin = consumer.beginning_offsets(tps)
        return sum(end[tp] - begin[tp] for tp in tps)
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, idle_ms: int = 5000) -> list[Any]:
    """Every record of `topic` from the beginning (stops after `idle_ms` without a new one)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=idle_ms,
        group_id=None,
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def es_count(es: Any, index: str) -> int:
    """Searchable documents in `index` after a refresh; 0 while it does not exist."""
    if not es.indices.exists(index=index):
        return 0
    es.indices.refresh(index=index)
    return int(es.count(index=index)["count"])


def es_docs(es: Any, index: str, fields: list[str]) -> dict[str, dict[str, Any]]:
    """`_id` → selected `_source` fields of every document."""
    from elasticsearch.helpers import scan

    if not es.indices.exists(index=index):
        return {}
    es.indices.refresh(index=index)
    return {
        hit["_id"]: hit.get("_source", {})
        for hit in scan(es, index=index, query={"query": {"match_all": {}}}, _source=fields, size=2000)
    }


# ----------------------------------------------------------------------------- replay files


def sample_ids() -> set[str]:
    """`_id`s of the unique valid posts of the bundled sample (an X v2 envelope per line)."""
    ids = set()
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        data = json.loads(line).get("data", {}) if line.strip() else {}
        if isinstance(data.get("id"), str) and isinstance(data.get("text"), str):
            ids.add(f"replay:{data['id']}")
    return ids


POSITIVE = ["love", "great", "awesome", "happy", "wonderful", "best", "amazing", "good"]
NEGATIVE = ["hate", "terrible", "awful", "sad", "worst", "horrible", "bad", "angry"]
NEUTRAL = ["today", "the game", "my phone", "this city", "the new album", "the update", "lunch", "the bus"]
DECOR = ["", " #news", " @user", " https://t.co/abc123", " 🙂", " !!!", " #nowplaying", " lol"]


def post_text(rng: random.Random) -> str:
    words = rng.choice([POSITIVE, NEGATIVE, [""]])
    mood = rng.choice(words)
    subject = rng.choice(NEUTRAL)
    text = f"I {mood} {subject}".replace("  ", " ") if mood else f"Thinking about {subject}"
    return text + rng.choice(DECOR) + rng.choice(DECOR)


def envelope(post_id: str, text: str, created: datetime, author: str) -> dict[str, Any]:
    """An X API v2 stream envelope, the format REPLAY_FILE holds."""
    return {
        "data": {
            "id": post_id,
            "text": text,
            "lang": "en",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "author_id": author,
        }
    }


@dataclass
class ReplayFile:
    path: Path
    expected_ids: set[str]  # the index `_id`s the valid posts must end up as
    bad_lines: list[str]  # raw malformed lines, each of which must be dead-lettered once
    lines: int


def bad_replay_lines(count: int, max_post_bytes: int) -> list[str]:
    """Lines the producer must reject, each unique so its dead letter can be matched."""
    kinds: list[Callable[[int], str]] = [
        lambda i: f"this is not json #{i} {{",
        lambda i: json.dumps({"data": {"text": f"no id here #{i}", "lang": "en"}}),
        lambda i: json.dumps({"data": {"id": f"bad-notext-{i}", "lang": "en"}}),
        lambda i: json.dumps([i, "a list, not an object"]),
        lambda i: json.dumps(
            {"data": {"id": f"bad-bigtext-{i}", "text": "x" * (max_post_bytes + 10), "lang": "en"}}
        ),
    ]
    return [kinds[i % len(kinds)](i) for i in range(count)]


def write_replay(
    path: Path,
    valid: int,
    bad: list[str] = (),  # type: ignore[assignment]
    duplicates: int = 0,
    seed: int = 7,
) -> ReplayFile:
    """`valid` unique posts (+ `duplicates` repeated lines of them, + `bad` lines), shuffled."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    prefix = f"e2e{seed}"
    good = [
        json.dumps(
            envelope(
                f"{prefix}-{i:06d}", post_text(rng), start + timedelta(seconds=i), str(rng.randrange(10**6))
            ),
            ensure_ascii=False,
        )
        for i in range(valid)
    ]
    lines = good + [rng.choice(good) for _ in range(duplicates)] + list(bad)
    # Keep the first post first so something arrives early, shuffle the rest.
    head, rest = lines[:1], lines[1:]
    rng.shuffle(rest)
    path.write_text("\n".join(head + rest) + "\n", encoding="utf-8")
    return ReplayFile(path, {f"replay:{prefix}-{i:06d}" for i in range(valid)}, list(bad), len(lines))
