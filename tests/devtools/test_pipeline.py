"""The one pipeline launcher (devtools.pipeline): its environments and its process handling,
on a stand-in process (no Kafka, Spark or Elasticsearch)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devtools.pipeline import PipelineError, Proc, Supervisor, job_env, producer_env, wait_until
from devtools.services.common import read_pid

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def test_job_env_defaults_are_the_tests_and_none_leaves_the_job_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOURCE", "replay")
    monkeypatch.setenv("SPARK_MASTER", "from-the-shell")
    env = job_env("localhost:9092", "posts", "http://localhost:9200", "idx", tmp_path, "a.jar")
    assert (env["TRIGGER"], env["SPARK_MASTER"]) == ("processingTime=2 seconds", "local[2]")
    assert env["ES_DEADLETTER_INDEX"] == "idx-deadletter"
    assert "SOURCE" not in env  # the producer's setting stays out of the job's environment
    assert env["PYSPARK_PYTHON"] == sys.executable

    shipped = job_env(
        "localhost:9092", "posts", "http://localhost:9200", "idx", tmp_path, "a.jar",
        deadletter_index="dl", trigger=None, master=None, metrics_port=9109, SENTIMENT_MODEL="vader",
    )  # fmt: skip
    assert "TRIGGER" not in shipped
    assert "SPARK_MASTER" not in shipped
    assert (shipped["ES_DEADLETTER_INDEX"], shipped["METRICS_PORT"]) == ("dl", "9109")
    assert shipped["SENTIMENT_MODEL"] == "vader"


def test_producer_env_extra_settings_win() -> None:
    env = producer_env("localhost:9092", "posts", "posts.dlq", metrics_port=9108, SOURCE="synthetic")
    assert (env["SOURCE"], env["METRICS_PORT"], env["KAFKA_DLQ_TOPIC"]) == ("synthetic", "9108", "posts.dlq")
    assert int(producer_env("b", "t", "d")["METRICS_PORT"]) > 0


def test_proc_writes_its_pid_file_logs_and_stops_its_group(tmp_path: Path) -> None:
    proc = Proc("sleeper", SLEEPER, {}, tmp_path / "sleeper.log", pid_file=tmp_path / "sleeper.pid")
    proc.start()
    try:
        assert read_pid(tmp_path / "sleeper.pid") == proc.pid
        wait_until(lambda: "up" in proc.tail(), 30, "the sleeper's first line", interval=0.1)
        assert "===== start #1:" in proc.tail()
    finally:
        code = proc.stop(timeout=10)
    assert code is not None
    assert not proc.running()


def test_supervisor_fails_a_wait_when_a_process_dies(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    sup.add("crasher", [sys.executable, "-c", "raise SystemExit(3)"], {}).start()
    try:
        with pytest.raises(PipelineError, match="crasher exited with 3"):
            wait_until(lambda: False, 30, "nothing", sup, interval=0.1)
    finally:
        sup.close()
