"""The Spark job image, run: uid 185, the package and its default model, Spark's layout and
Java 17, the Kubernetes entrypoint contract, and a real local[1] PySpark job through it
(built by devtools.images on the stand-in base; see devtools/images/README.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devtools.services.common import versions
from sentiment_job.job import NIO_FILESYSTEM_CLASS
from tests.images.images_helpers import RunImage

pytestmark = pytest.mark.images


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A host directory the image's uid 185 can read (bind-mounted read-only)."""
    path = Path(tempfile.mkdtemp(prefix="ts-image-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_runs_as_uid_185_in_the_work_dir(run_job: RunImage) -> None:
    proc = run_job("sh", "-c", 'echo "$(id -u) $(id -g) $PWD $SPARK_HOME"')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["185", "185", "/opt/spark/work-dir", "/opt/spark"]


def test_the_job_package_and_the_default_model_load(run_job: RunImage) -> None:
    # The default model's artefact and the language identifier's model both ship in the image:
    # an untagged Portuguese post is identified and scored with the network off.
    code = (
        "import sentiment_job.job\n"
        "import pandas as pd\n"
        "from sentiment_job.sentiment import DEFAULT_MODEL, get_analyzer, score_frame\n"
        "s = get_analyzer(DEFAULT_MODEL).score('what a wonderful, happy day')\n"
        "f = score_frame(pd.Series(['que dia maravilhoso, estou muito feliz com vocês']),\n"
        "                pd.Series([None], dtype=object), DEFAULT_MODEL)\n"
        "print(DEFAULT_MODEL, s.label, f['sentiment_lang'][0], f['sentiment'][0])\n"
    )
    # Spark's own pyspark and py4j on the path, as spark-submit puts them there for the job.
    spark_path = 'PYTHONPATH="$(echo /opt/spark/python/lib/py4j-*-src.zip):/opt/spark/python"'
    proc = run_job("sh", "-c", f'{spark_path} python3 -c "$0"', code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["multi-lr", "Positive", "pt", "Positive"]


def test_spark_submit_is_spark_of_the_pinned_version_on_java_17(run_job: RunImage) -> None:
    proc = run_job("/opt/spark/bin/spark-submit", "--version")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert re.search(rf"version {re.escape(versions()['SPARK_VERSION'])}\b", out), out
    assert re.search(r"Using Scala version 2\.13\.\d+, OpenJDK 64-Bit Server VM, 17\.", out), out


def test_the_kubernetes_entrypoint_and_jars_are_there(run_job: RunImage) -> None:
    proc = run_job(
        "sh", "-c", "test -x /opt/entrypoint.sh && ls /opt/spark/jars | grep -c '^spark-kubernetes_2.13-'"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"


JOB = """
import os, stat, tempfile
from pyspark.sql import SparkSession
from pyspark.sql.functions import udf
from sentiment_job.job import spark_configs
from sentiment_job.sentiment import DEFAULT_MODEL, get_analyzer
from sentiment_job.settings import Settings

# The job's own choice of filesystem, as it makes it under spark-submit in this image.
fs_impl = spark_configs(Settings.load({"CHECKPOINT_LOCATION": "/tmp/ckpt"}), True)["spark.hadoop.fs.file.impl"]
spark = SparkSession.builder.appName("image-smoke").config("spark.hadoop.fs.file.impl", fs_impl).getOrCreate()
label = udf(lambda text: get_analyzer(DEFAULT_MODEL).score(text).label)
rows = spark.createDataFrame([("I love this, great work",), ("this is awful and sad",)], ["text"])
print("RESULT", sorted(r[0] for r in rows.select(label("text")).collect()), spark.version)
jvm = spark._jvm
fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), spark._jsc.hadoopConfiguration())
probe = os.path.join(tempfile.mkdtemp(), "probe")
fs.create(jvm.org.apache.hadoop.fs.Path("file://" + probe), True).close()
print("FS", fs.getClass().getName(), oct(stat.S_IMODE(os.stat(probe).st_mode)))
# The batch stats' collect: our JVM helper, loaded from $SPARK_HOME/jars.
from sentiment_job.batch import STRING_COLLECT_CLASS, _jvm_class, stats_collector
print("COLLECT", _jvm_class(spark, STRING_COLLECT_CLASS) is not None, sorted(stats_collector(spark)(rows)))
spark.stop()
"""


def test_a_local_pyspark_job_runs_through_the_driver_entrypoint(run_job: RunImage, shared_dir: Path) -> None:
    """`driver ARGS` as Spark on Kubernetes calls it: spark-submit in client mode, the driver
    bound to SPARK_DRIVER_BIND_ADDRESS, Python UDFs in the image's Python workers. As the
    image's user and as an arbitrary uid without a passwd entry (OpenShift-style), side by side."""
    (shared_dir / "job.py").write_text(JOB)
    (shared_dir / "job.py").chmod(0o644)

    def submit(user: str) -> subprocess.CompletedProcess[str]:
        return run_job(
            "driver",
            "--master",
            "local[1]",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--conf",
            "spark.ui.enabled=false",
            "/job/job.py",
            docker_args=(
                f"--user={user}",
                "--env=SPARK_DRIVER_BIND_ADDRESS=127.0.0.1",
                f"--volume={shared_dir}:/job:ro",
            ),
            timeout=300,
        )

    users = ["185", "4242:0"]
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        results = dict(zip(users, pool.map(submit, users), strict=True))
    for user, proc in results.items():
        assert proc.returncode == 0, f"--user={user}:\n{proc.stderr[-4000:]}"
        assert f"RESULT ['Negative', 'Positive'] {versions()['SPARK_VERSION']}" in proc.stdout, user
        # The image's Hadoop local filesystem (no chmod process per file) loads and sets modes.
        assert f"FS {NIO_FILESYSTEM_CLASS} 0o644" in proc.stdout, (user, proc.stdout, proc.stderr[-4000:])
        # The stats collect without closure cleaning (StringCollect) loads and collects.
        assert "COLLECT True ['I love this, great work', 'this is awful and sad']" in proc.stdout, user


FAKE_JAVA = """#!/bin/sh
for arg in "$@"; do printf '%s\\n' "$arg"; done
"""


def test_executor_mode_starts_the_kubernetes_executor_backend(run_job: RunImage, shared_dir: Path) -> None:
    """`executor`: the JVM command Spark on Kubernetes expects, from the env it sets (a fake
    `java` prints its arguments instead of starting)."""
    java = shared_dir / "bin" / "java"
    java.parent.mkdir(mode=0o755)
    java.write_text(FAKE_JAVA)
    java.chmod(0o755)
    env = {
        "JAVA_HOME": "/fake-java",
        "SPARK_JAVA_OPT_10": "-Dlast=1",
        "SPARK_JAVA_OPT_0": "-Dfirst=1",
        "SPARK_JAVA_OPT_2": "-Dsecond=has space",
        "SPARK_EXECUTOR_MEMORY": "1g",
        "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@driver-svc:7078",
        "SPARK_EXECUTOR_ID": "3",
        "SPARK_EXECUTOR_CORES": "2",
        "SPARK_APPLICATION_ID": "spark-app-1",
        "SPARK_EXECUTOR_POD_IP": "10.0.0.7",
        "SPARK_RESOURCE_PROFILE_ID": "0",
        "SPARK_EXECUTOR_POD_NAME": "job-exec-3",
    }
    proc = run_job(
        "executor",
        docker_args=(f"--volume={shared_dir}:/fake-java:ro", *(f"--env={k}={v}" for k, v in env.items())),
    )
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.splitlines()
    cp = args[args.index("-cp") + 1]
    assert args[:5] == ["-Dfirst=1", "-Dsecond=has space", "-Dlast=1", "-Xms1g", "-Xmx1g"]
    assert cp.startswith("/opt/spark/conf:")
    assert "/opt/spark/jars/*" in cp
    assert cp.endswith(":/opt/spark/work-dir:")  # $PWD, then the empty SPARK_DIST_CLASSPATH
    rest = args[args.index("-cp") + 2 :]
    assert rest == [
        "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
        "--driver-url", env["SPARK_DRIVER_URL"],
        "--executor-id", "3",
        "--cores", "2",
        "--app-id", "spark-app-1",
        "--hostname", "10.0.0.7",
        "--resourceProfileId", "0",
        "--podName", "job-exec-3",
    ]  # fmt: skip


def test_other_commands_pass_through_unchanged(run_job: RunImage) -> None:
    proc = run_job("printf", "%s|", "a b", "c")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "a b|c|"


def test_pyspark_is_importable_like_in_the_official_image(run_job: RunImage) -> None:
    """Not by `python3` alone (the official image sets no PYTHONPATH and pip-installs no
    pyspark; spark-submit adds $SPARK_HOME/python/lib/*.zip): the stand-in must not hide a
    dependency on pyspark at import time."""
    proc = run_job("python3", "-c", "import pyspark")
    assert proc.returncode != 0
    assert "No module named 'pyspark'" in proc.stderr
    zips = "/opt/spark/python/lib/pyspark.zip:$(echo /opt/spark/python/lib/py4j-*-src.zip)"
    proc = run_job("sh", "-c", f'PYTHONPATH="{zips}" python3 -c "import pyspark; print(pyspark.__version__)"')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == versions()["SPARK_VERSION"]
