"""Helpers of the job's tests: events, producing to Kafka, running the console script."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent


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


def console_script(name: str) -> str:
    path = VENV_BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed: pip install -e images/spark-job")
    return found


def job_env(
    base: Mapping[str, str],
    *,
    bootstrap: str,
    topic: str,
    es_url: str,
    index: str,
    checkpoint: Path,
    jars: str,
    **extra: str,
) -> dict[str, str]:
    # Only what the test passes: none of this process's job settings or Spark launch args.
    skip = ("KAFKA_", "ES_", "SPARK_", "TRIGGER", "PYSPARK_SUBMIT_ARGS", "CHECKPOINT_", "METRICS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(base)
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "KAFKA_TOPIC": topic,
            "ES_URL": es_url,
            "ES_INDEX": index,
            "ES_DEADLETTER_INDEX": f"{index}-dl",
            "CHECKPOINT_LOCATION": str(checkpoint),
            "SPARK_JARS": jars,
            "SPARK_MASTER": "local[2]",
            "METRICS_PORT": "0",
            "PYSPARK_PYTHON": sys.executable,
        }
    )
    env.update(extra)
    return env


class JobProcess:
    """The console script in its own process group (the JVM is its child: kill both)."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [console_script("tweet-sentiment-job")],
            env=dict(env),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the job did not finish in {timeout:.0f}s; log:\n{self.tail()}") from None
        finally:
            self._out.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=60)
        finally:
            self._out.close()

    def running(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def run_job(env: Mapping[str, str], log: Path, timeout: float = 300) -> tuple[int, str]:
    job = JobProcess(env, log)
    code = job.wait(timeout)
    return code, job.tail()


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


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
