"""`make demo`: the demo path itself, on its own topic, index, ports and state directory.

The slow test runs `python -m devtools.demo run` as `make demo` does (replay of the
bundled sample), then checks its output, its chart and the index it filled, then `demo down`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import demo
from devtools.services.common import read_pid, state_dir
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from tests.conftest import unique
from tests.e2e.data import sample_ids

REPO_ROOT = Path(__file__).resolve().parents[2]
LABELS = ("Positive", "Neutral", "Negative", "Unsupported")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    index = unique("tweets-sentiment-demo-e2e")
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE", "REPLAY_FILE", "REPLAY_LOOP")}
    env.update(
        {
            "DEMO_TOPIC": unique("demo-posts"),
            "DEMO_DLQ_TOPIC": unique("demo-dlq"),
            "DEMO_INDEX": index,
            "DEMO_DEADLETTER_INDEX": f"{index}-deadletter",
            "DEMO_PRODUCER_METRICS_PORT": str(free_port()),
            "DEMO_JOB_METRICS_PORT": str(free_port()),
            "DEMO_OUTPUT_DIR": str(tmp_path / "out"),
            "DEMO_STATE_SUBDIR": unique("demo-e2e"),
            "DEMO_TIMEOUT": "480",
        }
    )
    env.update(extra)
    return env


def demo_cmd(action: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.demo", action],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.es
@pytest.mark.spark
def test_demo_indexes_the_sample_once_and_summarises_it(
    tmp_path: Path,
    kafka_broker: KafkaBroker,
    es_node: ElasticsearchNode,
    es_client,
    kafka_admin,
    spark_jars: str,
) -> None:
    env = demo_env(tmp_path)
    home = state_dir() / env["DEMO_STATE_SUBDIR"]
    try:
        result = demo_cmd("run", env, timeout=720)
        out = result.stdout
        assert result.returncode == 0, f"stdout:\n{out[-6000:]}\nstderr:\n{result.stderr[-6000:]}"

        # The index holds every unique valid sample post exactly once, each with a label.
        from elasticsearch.helpers import scan

        es_client.indices.refresh(index=env["DEMO_INDEX"])
        docs = {
            hit["_id"]: hit["_source"]
            for hit in scan(es_client, index=env["DEMO_INDEX"], _source=["sentiment"], size=1000)
        }
        expected = sample_ids()
        assert docs.keys() == expected
        assert es_client.count(index=env["DEMO_INDEX"])["count"] == len(expected)
        assert {d.get("sentiment") for d in docs.values()} <= set(LABELS)

        # The summary names every label with the count the index holds.
        counts = {label: sum(d["sentiment"] == label for d in docs.values()) for label in LABELS}
        for label in LABELS:
            match = re.search(rf"^\s+{label}\s+([\d,]+)\s", out, re.MULTILINE)
            assert match, f"{label} missing from the summary:\n{out[-4000:]}"
            assert int(match.group(1).replace(",", "")) == counts[label]
        assert f"unique posts       {len(expected):,}; indexed {len(expected):,}" in out
        assert re.search(r"latency\s+p50 .+ p95 .+ p99 ", out)
        assert "Most positive:" in out
        assert "Most negative:" in out
        # Not a terminal: progress comes as plain lines, no cursor movement.
        assert "\x1b[" not in out
        assert re.search(r"^\[\s*\d+s\] published \d+, indexed \d+", out, re.MULTILINE)

        chart = Path(env["DEMO_OUTPUT_DIR"]) / demo.CHART_NAME
        png = chart.read_bytes()
        assert png[:8] == PNG_MAGIC
        # The IHDR chunk comes first: width and height are its first two big-endian uint32s.
        assert png[12:16] == b"IHDR"
        width, height = struct.unpack(">II", png[16:24])
        assert width > 800
        assert height > 600
        summary = json.loads((Path(env["DEMO_OUTPUT_DIR"]) / "summary.json").read_text())
        assert summary["summary"]["total"] == len(expected)
        assert str(chart) in out

        # Left running for exploring: the job and its metrics.
        assert read_pid(home / "job.pid") is not None
        assert demo.scrape(int(env["DEMO_JOB_METRICS_PORT"])) is not None
    finally:
        down = demo_cmd("down", env, timeout=120)
        es_client.options(ignore_status=404).indices.delete(index=env["DEMO_INDEX"])
        es_client.options(ignore_status=404).indices.delete(index=env["DEMO_DEADLETTER_INDEX"])
        for name in (env["DEMO_INDEX"], env["DEMO_DEADLETTER_INDEX"]):
            # tweet-sentiment-setup-es installs one template per index name.
            es_client.options(ignore_status=404).indices.delete_index_template(name=f"{name}-template")
        # Cleanup must not hide the test's own result.
        with contextlib.suppress(Exception):
            kafka_admin.delete_topics([env["DEMO_TOPIC"], env["DEMO_DLQ_TOPIC"]])
        shutil.rmtree(home, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert "stopped job" in down.stdout
    assert read_pid(home / "job.pid") is None
    # The shared services were up before the demo, so `down` left them running.
    assert "left running" in down.stdout
    assert kafka_broker.is_up()
    assert es_node.is_up()


@pytest.mark.e2e
def test_demo_fails_clearly_when_a_metrics_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = demo_env(tmp_path, DEMO_PRODUCER_METRICS_PORT=str(port))
        try:
            result = demo_cmd("run", env, timeout=120)
        finally:
            shutil.rmtree(state_dir() / env["DEMO_STATE_SUBDIR"], ignore_errors=True)
    assert result.returncode == 1
    assert f"port {port} (the producer's metrics) is already taken" in result.stderr
    assert "DEMO_PRODUCER_METRICS_PORT" in result.stderr
    assert "Traceback" not in result.stderr
