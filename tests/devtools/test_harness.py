"""The one harness (devtools.harness): environments from the settings models, the poll loop
and the process handling, on stand-in processes (no Kafka, Spark or Elasticsearch)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devtools.harness.env import job_default, job_env, producer_default, producer_env
from devtools.harness.poll import PipelineError, wait_until
from devtools.harness.process import Proc, Supervisor, process_tree
from devtools.services.common import ServiceError, pid_alive, read_pid, wait_for

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]
# A parent that starts a sleeping child and prints its pid.
PARENT = [
    sys.executable,
    "-c",
    "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    " print(c.pid, flush=True); time.sleep(60)",
]


def test_job_env_names_the_settings_of_the_model_and_none_leaves_the_job_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SPARK_MASTER", "from-the-shell")
    monkeypatch.setenv("TRIGGER", "from-the-shell")
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--jars x pyspark-shell")
    env = job_env("localhost:9092", "posts", "http://localhost:9200", "idx", tmp_path, "a.jar")
    assert env["SPARK_MASTER"] == "local[2]"
    assert "TRIGGER" not in env  # the shell's job settings stay out: the job's own default
    assert "PYSPARK_SUBMIT_ARGS" not in env
    assert (env["ES_INDEX"], env["ES_DEADLETTER_INDEX"]) == ("idx", "idx-deadletter")
    assert env["PYSPARK_PYTHON"] == sys.executable

    shipped = job_env(
        "localhost:9092", "posts", "http://localhost:9200", "idx", tmp_path, "a.jar",
        spark_master=None, metrics_port=9109, SENTIMENT_MODEL="vader", es_request_timeout=5, fail_on_data_loss=True,
    )  # fmt: skip
    assert "SPARK_MASTER" not in shipped
    assert shipped["METRICS_PORT"] == "9109"
    assert shipped["SENTIMENT_MODEL"] == "vader"  # a variable's name works too
    assert shipped["ES_REQUEST_TIMEOUT_SECONDS"] == "5"  # a field's alias is its variable
    assert shipped["FAIL_ON_DATA_LOSS"] == "true"
    with pytest.raises(PipelineError, match="TRIGER is not a setting"):
        job_env("b", "t", "u", "i", tmp_path, "", TRIGER="availableNow")


def test_producer_env_inherits_its_settings_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLAY_LOOP", "true")
    env = producer_env(kafka_topic="posts", metrics_port=9108, source="synthetic")
    assert (env["SOURCE"], env["METRICS_PORT"], env["KAFKA_TOPIC"]) == ("synthetic", "9108", "posts")
    assert "REPLAY_LOOP" not in env
    assert producer_env(inherit=True)["REPLAY_LOOP"] == "true"
    assert int(producer_env()["METRICS_PORT"]) > 0


def test_defaults_are_the_programs() -> None:
    assert (producer_default("kafka_topic"), producer_default("metrics_port")) == ("posts", 9108)
    assert (job_default("es_index"), job_default("metrics_port")) == ("tweets-sentiment", 9109)


def test_proc_writes_its_pid_file_logs_and_stops_its_group(tmp_path: Path) -> None:
    proc = Proc("sleeper", SLEEPER, {}, tmp_path / "sleeper.log", pid_file=tmp_path / "sleeper.pid")
    proc.start()
    try:
        assert read_pid(tmp_path / "sleeper.pid") == proc.pid
        assert proc.wait_for_log("^up$").group(0) == "up"
        assert "===== start #1:" in proc.tail()
        assert proc.output().strip() == "up"
    finally:
        code = proc.stop(timeout=10)
    assert code is not None
    assert not proc.running()


def test_process_tree_has_the_children_and_kill_takes_them(tmp_path: Path) -> None:
    proc = Proc("parent", PARENT, {}, tmp_path / "parent.log").start()
    try:
        child = int(proc.wait_for_log(r"^(\d+)$").group(1))
        assert process_tree(proc.pid) == [proc.pid, child]
    finally:
        proc.kill()
    assert not pid_alive(child)  # the whole group went


def test_a_wait_for_the_log_of_a_process_that_exits_fails_with_its_log(tmp_path: Path) -> None:
    proc = Proc("quitter", [sys.executable, "-c", "print('bye')"], {}, tmp_path / "q.log").start()
    with pytest.raises(PipelineError, match=r"the process exited(?s:.*)bye"):
        proc.wait_for_log("never", timeout=30)


def test_supervisor_fails_a_wait_when_a_process_dies(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    sup.add("crasher", [sys.executable, "-c", "raise SystemExit(3)"], {}).start()
    try:
        with pytest.raises(PipelineError, match="crasher exited with 3"):
            wait_until(lambda: False, 30, "nothing", sup, interval=0.1)
    finally:
        sup.close()


def test_wait_until_returns_the_value_and_reports_the_last_one() -> None:
    answers = iter([ValueError("not yet"), 0, "ready"])

    def check() -> object:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_until(check, 5, "ready", interval=0) == "ready"
    with pytest.raises(PipelineError, match=r"waiting for nothing \(last: 0\)"):
        wait_until(lambda: 0, 0.1, "nothing", interval=0.01)


def test_a_service_wait_fails_as_a_service_error() -> None:
    with pytest.raises(ServiceError, match="the process exited"):
        wait_for(lambda: False, 30, "the broker", alive=lambda: False)
