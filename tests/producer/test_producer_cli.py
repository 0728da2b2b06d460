"""The console script's behaviour that needs no broker: Kafka unreachable at start."""

from __future__ import annotations

import socket
from collections.abc import Callable

from tests.producer.producer_helpers import ProducerProcess

Start = Callable[..., ProducerProcess]


def test_kafka_down_at_start_reports_not_ready_and_still_stops_cleanly(run_producer: Start) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    producer = run_producer(SOURCE="synthetic", KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}")
    assert producer.get("/healthz") == (200, "ok\n")
    status, body = producer.get("/readyz")
    assert status == 503
    assert "Kafka not reachable" in body
    producer.wait_for_log("not reachable", 30)
    producer.terminate()
    assert producer.wait(10) == 0, producer.log
