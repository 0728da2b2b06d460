"""Shared fixtures: the real local Kafka and Elasticsearch, started once per session.

A service already answering on its port is reused and left running; one this session
started is stopped at the end (set TS_KEEP_SERVICES=1 to keep it for the next run).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools.services.common import ServiceError
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from devtools.services.spark_jars import spark_job_jars

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("TS_SHARED_DIR", REPO_ROOT.parent / "shared"))
KEEP = os.environ.get("TS_KEEP_SERVICES") == "1"


def _session_service(service: KafkaBroker | ElasticsearchNode) -> Iterator[None]:
    try:
        started = service.up()
    except ServiceError as exc:
        pytest.fail(f"cannot start {type(service).__name__}: {exc}", pytrace=False)
    yield
    if started and not KEEP:
        service.down()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    broker = KafkaBroker()
    yield from (broker for _ in _session_service(broker))


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def es_node() -> Iterator[ElasticsearchNode]:
    node = ElasticsearchNode()
    yield from (node for _ in _session_service(node))


@pytest.fixture(scope="session")
def es_url(es_node: ElasticsearchNode) -> str:
    return es_node.url


@pytest.fixture
def es_client(es_url: str):  # type: ignore[no-untyped-def]
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture
def kafka_admin(kafka_bootstrap: str):  # type: ignore[no-untyped-def]
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="tests-admin")
    yield admin
    admin.close()


@pytest.fixture
def new_topic(kafka_admin) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """Factory: a fresh topic per call, deleted at the end of the test."""
    from kafka.admin import NewTopic

    created: list[str] = []

    def make(prefix: str = "t", partitions: int = 3) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        kafka_admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        created.append(name)
        return name

    yield make
    if created:
        # Cleanup must not mask the test's own result.
        with contextlib.suppress(Exception):
            kafka_admin.delete_topics(created)


@pytest.fixture(scope="session")
def spark_jars() -> str:
    """Comma-separated jar paths for Spark's Kafka source (resolved into the cache)."""
    return ",".join(str(p) for p in spark_job_jars())


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED_DIR


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
