"""Fixtures of the end-to-end tests: processes per test, fault-injection services per session."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.harness.env import deadletter_index, job_env, producer_env
from devtools.harness.process import Proc, Supervisor, console_script
from devtools.services.common import ServiceError
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from tests.conftest import unique
from tests.e2e.data import es_count, es_docs

FAULT_KAFKA_PORT = int(os.environ.get("TS_E2E_FAULT_KAFKA_PORT", "19094"))
FAULT_ES_PORT = int(os.environ.get("TS_E2E_FAULT_ES_PORT", "19210"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the item so fixtures can print logs only on failure.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def fault_kafka() -> Iterator[KafkaBroker]:
    """A broker of our own on another port: the tests kill it, the shared one stays up."""
    broker = KafkaBroker(port=FAULT_KAFKA_PORT, name="kafka-faults-e2e")
    broker.wipe()
    try:
        started = broker.up()
    except ServiceError as exc:
        pytest.fail(f"cannot start the fault-injection broker: {exc}", pytrace=False)
    if not started:  # someone else's broker answers there: killing it would test nothing of ours
        pytest.fail(
            f"port {FAULT_KAFKA_PORT} already has a broker; set TS_E2E_FAULT_KAFKA_PORT", pytrace=False
        )
    yield broker
    broker.wipe()


@pytest.fixture(scope="session")
def fault_es() -> Iterator[ElasticsearchNode]:
    """An Elasticsearch node of our own on another port, to stop mid-run."""
    node = ElasticsearchNode(port=FAULT_ES_PORT, name="es-faults-e2e")
    node.wipe()
    try:
        started = node.up()
    except ServiceError as exc:
        pytest.fail(f"cannot start the fault-injection Elasticsearch: {exc}", pytrace=False)
    if not started:
        pytest.fail(
            f"port {FAULT_ES_PORT} already has Elasticsearch; set TS_E2E_FAULT_ES_PORT", pytrace=False
        )
    yield node
    node.wipe()


@dataclass
class Run:
    """One pipeline run's names and processes: unique topic, index and checkpoint."""

    sup: Supervisor
    tmp: Path
    topic: str
    dlq_topic: str
    index: str
    checkpoint: Path
    spark_jars: str

    @property
    def deadletter_index(self) -> str:
        return deadletter_index(self.index)

    def producer(self, bootstrap: str, name: str = "producer", **env: Any) -> Proc:
        return self.sup.add(
            name,
            [console_script("tweet-producer")],
            producer_env(
                kafka_bootstrap_servers=bootstrap,
                kafka_topic=self.topic,
                kafka_dlq_topic=self.dlq_topic,
                **env,
            ),
        )

    def job(self, bootstrap: str, es_url: str, restart: bool = False, **env: Any) -> Proc:
        # Bounded batches: steady progress, so faults land between and inside batches.
        env.setdefault("MAX_OFFSETS_PER_TRIGGER", 400)
        env.setdefault("TRIGGER", "processingTime=2 seconds")
        return self.sup.add(
            "job",
            [console_script("tweet-sentiment-job")],
            job_env(bootstrap, self.topic, es_url, self.index, self.checkpoint, self.spark_jars, **env),
            restart=restart,
        )


@pytest.fixture
def run(request: pytest.FixtureRequest, tmp_path: Path, spark_jars: str) -> Iterator[Run]:
    sup = Supervisor(tmp_path)
    r = Run(
        sup,
        tmp_path,
        unique("e2e-posts"),
        unique("e2e-dlq"),
        unique("e2e-tweets"),
        tmp_path / "ckpt",
        spark_jars,
    )
    try:
        yield r
    finally:
        sup.close()
        failed = any(
            getattr(getattr(request.node, f"rep_{phase}", None), "failed", False)
            for phase in ("setup", "call")
        )
        if failed:
            print(f"\n===== logs of {request.node.name} (kept in {tmp_path}) =====")
            print(sup.tails(lines=80))


@pytest.fixture
def cleanup_es() -> Iterator[list[tuple[Any, str]]]:
    """Register (client, index pattern) to delete after the test."""
    todo: list[tuple[Any, str]] = []
    yield todo
    for client, pattern in todo:
        with contextlib.suppress(Exception):
            client.indices.delete(index=pattern, ignore_unavailable=True, allow_no_indices=True)


def assert_exactly(es: Any, index: str, expected_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Nothing lost, nothing duplicated, every document labelled."""
    docs = es_docs(es, index, ["sentiment", "polarity"])
    missing = expected_ids - docs.keys()
    extra = docs.keys() - expected_ids
    assert not missing, f"{len(missing)} posts lost, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} unexpected documents, e.g. {sorted(extra)[:5]}"
    assert es_count(es, index) == len(expected_ids)
    labels = {"Negative", "Neutral", "Positive", "Unsupported"}
    unlabelled = [i for i, d in docs.items() if d.get("sentiment") not in labels]
    assert not unlabelled, f"{len(unlabelled)} documents without a sentiment label, e.g. {unlabelled[:5]}"
    return docs
