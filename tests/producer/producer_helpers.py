"""Producer test helpers: test data, schemas, the real console script as a subprocess,
and reading a Kafka topic completely (to its end offsets, so counts are exact)."""

from __future__ import annotations

import gzip
import json
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.harness.env import producer_env
from devtools.harness.poll import wait_until
from devtools.harness.process import Proc, console_script

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCER_DIR = REPO_ROOT / "images" / "producer"
SCHEMA_DIR = PRODUCER_DIR / "src" / "tweet_producer" / "schemas"
# The console script of the virtualenv running the tests (.venv/bin/tweet-producer).
TWEET_PRODUCER = Path(sys.executable).parent / "tweet-producer"

TEXTS = [
    "Loving the new update, everything is faster! 🚀",
    "worst commute ever… train stuck again 😤 #transit",
    'She said "it\'s fine" & left — <sigh>',
    "日本語のポストです。天気がいいですね。",
    "Ça marche très bien, merci ! 🇫🇷",
    "line one\nline two\ttabbed",
    "RT @someone: this is a retweet with a link https://t.co/abc123",
    "emoji only 🙃🙃🙃",
]


def x_envelope(post_id: str, text: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "lang": "en",
        "created_at": "2026-11-20T10:00:00.000Z",
        "author_id": "680380337",
        "edit_history_tweet_ids": [post_id],
    }
    data.update(extra)
    return {"data": data}


def valid_posts(count: int, start: int = 1_000) -> list[dict[str, Any]]:
    """`count` distinct posts in the X v2 envelope, with varied text, one long note_tweet."""
    posts = []
    for i in range(count):
        post_id = str(2_123_718_106_196_231_356 + start + i)
        text = TEXTS[i % len(TEXTS)] + f" #{i}"
        extra: dict[str, Any] = {}
        if i % 97 == 5:
            full = ("A long post that goes on and on. " * 40).strip() + f" #{i}"
            extra["note_tweet"] = {"text": full}
            text = full[:270] + "…"
        posts.append(x_envelope(post_id, text, **extra))
    return posts


# (line, reason) pairs: every way a line can be bad, with the reason it must carry.
MALFORMED: list[tuple[bytes, str]] = [
    (b'{"data": {"id": "1", "text": "cut off in the mid', "bad_json"),
    (b"not json at all", "bad_json"),
    (b'{"data": {"text": "no id", "created_at": "2026-11-20T10:00:00.000Z"}}', "missing_field"),
    (b'{"data": {"id": "2", "created_at": "2026-11-20T10:00:00.000Z"}}', "missing_field"),
    (b'{"data": {"id": "3", "text": 12345, "created_at": "2026-11-20T10:00:00.000Z"}}', "wrong_type"),
    (b'{"data": {"id": 4, "text": "numeric id", "created_at": "2026-11-20T10:00:00.000Z"}}', "wrong_type"),
    (b"{}", "bad_shape"),
    (b'{"data": []}', "bad_shape"),
    (b"[1, 2, 3]", "bad_shape"),
    (b'{"data": {"id": "5", "text": "bad date", "created_at": "yesterday"}}', "bad_value"),
    (
        b'{"data": {"id": "6", "text": "caf\xe9 in latin-1", "created_at": "2026-11-20T10:00:00.000Z"}}',
        "bad_encoding",
    ),
    (
        json.dumps(x_envelope("7", "x" * 70_000)).encode(),
        "oversized",
    ),
]


def write_jsonl(path: Path, lines: list[bytes], compress: bool = False) -> Path:
    data = b"".join(line + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def validator(schema: dict[str, Any]):  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator, FormatChecker

    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


# --- the console script -----------------------------------------------------------------


class ProducerProcess(Proc):
    """`tweet-producer` (`Proc`, logging to a file) with the tests' conveniences: its
    metrics port from the log, its HTTP endpoints, its metrics and its stop summary."""

    @classmethod
    def launch(cls, log_file: Path, **settings: Any) -> ProducerProcess:
        """Started with `producer_env(**settings)`: only the settings given, metrics on any port."""
        env = producer_env(metrics_port=0, **settings)
        return cls("producer", [console_script("tweet-producer")], env, log_file).start()  # type: ignore[return-value]

    @property
    def log(self) -> str:
        return self.output()

    @property
    def lines(self) -> list[str]:
        return self.output().splitlines(keepends=True)

    @property
    def port(self) -> int:
        return int(self.wait_for_log(r"metrics and health on [\d.]+:(\d+)").group(1))

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metric(self, name: str, labels: str = "") -> float | None:
        """One sample from /metrics, e.g. metric("producer_posts_received_total", 'source="replay"')."""
        _, text = self.get("/metrics")
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def terminate(self) -> None:
        self.send(signal.SIGTERM)

    def finish(self, timeout: float = 30) -> None:
        """SIGTERM, as Kubernetes stops a pod: the producer must exit 0."""
        self.terminate()
        assert self.wait(timeout) == 0, self.log

    def summary(self) -> dict[str, int]:
        match = self.wait_for_log(
            r"stopped: received=(\d+) published=(\d+) deadlettered=(\d+) undelivered=(\d+)", 1
        )
        return dict(
            zip(
                ("received", "published", "deadlettered", "undelivered"),
                map(int, match.groups()),
                strict=True,
            )
        )


def poll_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """`wait_until` at the pace of a test of one process (50 ms)."""
    return wait_until(check, timeout, what, interval=0.05)


# --- Kafka --------------------------------------------------------------------------------


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list[Any]:
    """Every record of `topic`, from the beginning to the end offsets as of now."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = poll_until(lambda: consumer.partitions_for_topic(topic), timeout, f"metadata of {topic}")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records: list[Any] = []

        def at_end() -> bool:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            return all(consumer.position(tp) >= end[tp] for tp in tps)

        if any(consumer.position(tp) < end[tp] for tp in tps):
            wait_until(at_end, timeout, f"the end offsets {end} of {topic}", interval=0)
        return records
    finally:
        consumer.close()


def count_topic(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()
