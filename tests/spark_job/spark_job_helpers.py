"""Helpers of the job's tests: events, producing to Kafka, running the console script (on
the harness, `devtools.harness`) and the kill-and-restart steps the recovery tests share."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devtools.harness.poll import wait_until
from devtools.harness.process import Proc, console_script


def event(post_id: str, text: str = "I love this, what a great day", **fields: Any) -> dict[str, Any]:
    """An event v1 as the producer writes it; `fields` override or add (None removes)."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "id": post_id,
        "source": "synthetic",
        "text": text,
        "lang": "en",
        "created_at": "2026-01-02T03:04:05.678Z",
        "ingested_at": "2026-01-02T03:04:06.000Z",
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def encode(value: dict[str, Any] | str | bytes | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value).encode()


def produce(bootstrap: str, topic: str, values: Iterable[dict[str, Any] | str | bytes | None]) -> int:
    """Send every value (dicts as JSON) with the producer's key; returns how many were sent."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    n = 0
    try:
        for value in values:
            # A tombstone (None) needs a key: Kafka rejects a record with neither.
            key = (
                f"{value.get('source')}:{value['id']}"
                if isinstance(value, dict) and "id" in value
                else "junk"
            )
            producer.send(topic, key=key.encode(), value=encode(value))
            n += 1
        producer.flush(timeout=60)
    finally:
        producer.close()
    return n


def start_job(env: dict[str, str], log: Path) -> Proc:
    """The console script in its own process group (the JVM is its child: a kill takes both)."""
    return Proc("job", [console_script("tweet-sentiment-job")], env, log).start()


def run_job(env: dict[str, str], log: Path, timeout: float = 300) -> tuple[int, str]:
    job = start_job(env, log)
    return job.wait(timeout), job.output()


def catch_up(env: dict[str, str]) -> dict[str, str]:
    """The last run: drain what is left in one go and exit."""
    return {**{k: v for k, v in env.items() if k != "MAX_OFFSETS_PER_TRIGGER"}, "TRIGGER": "availableNow"}


def start_until_indexed(env: dict[str, str], log: Path, es: Any, index: str, more_than: int = 0) -> Proc:
    """The job started, once it has indexed more than `more_than` documents (still running)."""
    job = start_job(env, log)
    wait_until(
        lambda: count(es, index) > more_than,
        300,
        f"more than {more_than} documents in {index}",
        alive=job.running,
        error=lambda msg: AssertionError(f"{msg}\n{job.tail()}"),
    )
    assert job.running(), job.tail()
    return job


def killed_mid_stream(
    env: dict[str, str], log: Path, es: Any, index: str, total: int, more_than: int = 0
) -> int:
    """Start the job, SIGKILL it once it has indexed some but not all of `total` posts; returns
    how many it had indexed."""
    job = start_until_indexed(env, log, es, index, more_than)
    job.kill(signal.SIGKILL)
    indexed = count(es, index)
    assert more_than < indexed < total, f"the kill must land mid-stream ({indexed} of {total})"
    return indexed


def all_docs(es: Any, index: str) -> dict[str, dict[str, Any]]:
    """_id → _source of every document (refreshes first)."""
    from elasticsearch.helpers import scan

    es.indices.refresh(index=index)
    return {hit["_id"]: hit["_source"] for hit in scan(es, index=index, query={"query": {"match_all": {}}})}


def count(es: Any, index: str) -> int:
    try:
        es.indices.refresh(index=index)
        return int(es.count(index=index)["count"])
    except Exception:  # index not created yet / node restarting
        return -1
