"""The local Kafka/Elasticsearch scripts behind `make kafka-up` / `make es-up` and the fixtures."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from devtools.services.common import ServiceError, versions
from devtools.services.elasticsearch import ElasticsearchNode, es_health
from devtools.services.kafka import KafkaBroker, broker_answers, format_arguments
from tests.conftest import REPO_ROOT, unique


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port held by something that is not Kafka or Elasticsearch."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_versions_file_pins_the_issue_versions() -> None:
    v = versions()
    assert v["KAFKA_VERSION"] == "4.3.1"
    assert v["SPARK_VERSION"].startswith("4.0.")
    assert v["ES_VERSION"].startswith("9.")


@pytest.mark.kafka
def test_kafka_up_is_idempotent(kafka_broker: KafkaBroker) -> None:
    pid_before = kafka_broker.pid()
    assert KafkaBroker().up() is False  # a second `up` reuses the running broker
    assert kafka_broker.pid() == pid_before
    assert broker_answers("localhost", kafka_broker.port)


@pytest.mark.kafka
def test_make_kafka_up_reports_a_running_broker(kafka_broker: KafkaBroker) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "devtools.services", "kafka", "up"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "already running" in out
    assert str(kafka_broker.log_file) in out


def test_broker_probe_is_false_on_a_non_kafka_port(squatter: int) -> None:
    assert broker_answers("127.0.0.1", squatter, timeout=1) is False


def test_kafka_refuses_a_taken_port_with_a_clear_message(squatter: int) -> None:
    broker = KafkaBroker(port=squatter, name=unique("kafka-squat"))
    with pytest.raises(ServiceError, match=f"port {squatter}.*TS_KAFKA_PORT"):
        broker.up()


def test_elasticsearch_refuses_a_taken_port_with_a_clear_message(squatter: int) -> None:
    node = ElasticsearchNode(port=squatter, name=unique("es-squat"))
    with pytest.raises(ServiceError, match=f"port {squatter}.*TS_ES_PORT"):
        node.up()


@pytest.mark.es
def test_es_up_is_idempotent(es_node: ElasticsearchNode) -> None:
    pid_before = es_node.pid()
    assert ElasticsearchNode().up() is False
    assert es_node.pid() == pid_before
    assert es_health(es_node.url) in ("green", "yellow")


def test_kafka_storage_formats_with_a_cluster_id_that_starts_with_a_dash() -> None:
    """One random id in 64 starts with "-"; `-t ID` made kafka-storage read it as an option."""
    broker = KafkaBroker(name=f"format-{unique('t')}", port=29092)  # format binds no port
    broker.home.mkdir(parents=True, exist_ok=True)
    try:
        config = broker._write_config()
        cluster_id = "-" + "A" * 21  # 22 characters, as a base64 UUID
        done = subprocess.run(
            [*broker._java(), "kafka.tools.StorageTool", *format_arguments(cluster_id, config)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"cluster.id={cluster_id}" in (broker.data_dir / "meta.properties").read_text()
    finally:
        shutil.rmtree(broker.home, ignore_errors=True)
