"""The job's Hadoop local filesystem (images/spark-job/java) on the real Kafka, Spark and
Elasticsearch: the checkpoint is written as before, with the same file modes, and no `chmod`
process is forked for it (Hadoop's own filesystem forks one per file and .crc, issue 17).

A `chmod` first on the job's PATH records every call and then runs the real one; the control
run, without our jar, shows that the recorder sees Hadoop's forks.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from spark_job_helpers import count, event, produce, run_job

from devtools.harness.env import job_env
from sentiment_job.settings import JOB_JAR

pytestmark = [pytest.mark.kafka, pytest.mark.es, pytest.mark.spark]

POSTS = 20


def chmod_recorder(directory: Path, calls: Path) -> Path:
    directory.mkdir()
    real = "/bin/chmod" if Path("/bin/chmod").exists() else "/usr/bin/chmod"
    script = directory / "chmod"
    script.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    script.chmod(0o755)
    return directory


def run_recorded(
    name: str,
    jars: str,
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    tmp: Path,
) -> tuple[Path, list[str]]:
    """Run the job over POSTS posts with `jars`; (its checkpoint, the chmod calls made on it)."""
    topic, index = new_topic(f"fs-{name}"), indices()
    produce(kafka_bootstrap, topic, [event(f"{name}-{i}", f"post {i}, a fine day") for i in range(POSTS)])
    calls = tmp / f"{name}-chmod-calls"
    recorder = chmod_recorder(tmp / f"{name}-bin", calls)
    checkpoint = tmp / f"{name}-checkpoint"
    env = job_env(kafka_bootstrap, topic, es_url, index, checkpoint, jars, trigger="availableNow")
    env["PATH"] = f"{recorder}:{env['PATH']}"
    code, log = run_job(env, tmp / f"{name}.log", timeout=420)
    assert code == 0, log
    assert count(es_client, index) == POSTS
    made = calls.read_text().splitlines() if calls.exists() else []
    # Only the checkpoint's: Spark itself runs `chmod a+x` once on each jar it copies at start.
    return checkpoint, [c for c in made if str(checkpoint) in c]


def test_the_checkpoint_is_written_without_a_chmod_process(
    kafka_bootstrap: str,
    new_topic: Any,
    es_url: str,
    es_client: Any,
    indices: Any,
    spark_jars: str,
    tmp_path: Path,
) -> None:
    jars = spark_jars.split(",")
    assert any(Path(j).name == JOB_JAR for j in jars), jars
    without_ours = ",".join(j for j in jars if Path(j).name != JOB_JAR)
    common = (kafka_bootstrap, new_topic, es_url, es_client, indices, tmp_path)

    checkpoint, calls = run_recorded("nio", spark_jars, *common)
    control, control_calls = run_recorded("hadoop", without_ours, *common)

    assert calls == []
    # Hadoop's own filesystem: a chmod for each offset and commit file and their .crc files.
    assert any("/offsets/" in c for c in control_calls), control_calls
    assert any("/commits/" in c for c in control_calls), control_calls

    # The same files with the same modes as Hadoop's own filesystem gives them.
    def modes(root: Path) -> dict[str, int]:
        return {p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*")}

    ours, theirs = modes(checkpoint), modes(control)
    assert set(ours) == set(theirs)
    assert ours == theirs
    # Hadoop's default file mode under its own umask (fs.permissions.umask-mode, 022), not the
    # process's.
    for name in ("offsets/0", "commits/0", "offsets/.0.crc"):
        assert ours[name] == 0o644, (name, oct(ours[name]))
