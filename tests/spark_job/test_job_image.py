"""The job's image (images/spark-job/Dockerfile) agrees with versions.env, the jars the tests
run with, and the Python pins the tests install. No Docker engine needed: it reads files."""

from __future__ import annotations

import hashlib
import re
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from devtools.images.build import copy_sources
from devtools.services.common import REPO_ROOT, versions
from devtools.services.spark_jars import JAVA_SOURCES
from sentiment_job.job import NIO_FILESYSTEM_CLASS, read_spark_defaults
from sentiment_job.settings import JOB_JAR

IMAGE_DIR = REPO_ROOT / "images" / "spark-job"
DOCKERFILE = (IMAGE_DIR / "Dockerfile").read_text()


def dockerfile_args() -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", DOCKERFILE, flags=re.MULTILINE))


def substitute(text: str, args: dict[str, str]) -> str:
    """Expand ${NAME} until none is left (an ARG default may name earlier ARGs)."""
    while "${" in text:
        expanded = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], text)
        assert expanded != text, text
        text = expanded
    return text


def pins() -> list[Requirement]:
    lines = (IMAGE_DIR / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in (raw.split("#")[0].strip() for raw in lines) if line]


def marker_env(python: str) -> dict[str, str]:
    return {"python_version": python, "python_full_version": f"{python}.0", "extra": ""}


def test_base_image_and_connector_versions_match_versions_env() -> None:
    v, args = versions(), dockerfile_args()
    assert args["SPARK_VERSION"] == v["SPARK_VERSION"]
    assert args["SCALA_BINARY_VERSION"] == v["SCALA_BINARY_VERSION"]
    assert args["SPARK_TOKEN_PROVIDER_VERSION"] == v["SPARK_TOKEN_PROVIDER_VERSION"]
    (base,) = re.findall(r"^FROM (\S+)$", DOCKERFILE, flags=re.MULTILINE)
    # The base is a build argument (the tests build on a stand-in) whose DEFAULT is an exact
    # tag of the official image, the Spark version the tests run (pyspark pin).
    assert base == "${BASE_IMAGE}"
    assert substitute(base, args) == f"apache/spark:{v['SPARK_VERSION']}-scala2.13-java17-python3-ubuntu"
    after_from = DOCKERFILE.split("\nFROM ${BASE_IMAGE}\n", 1)[1]
    assert "BASE_IMAGE" not in after_from, "BASE_IMAGE must only choose the base"
    assert metadata.version("pyspark") == v["SPARK_VERSION"]


def test_jar_versions_and_checksums_are_the_jars_the_tests_use(spark_jars: str) -> None:
    args = dockerfile_args()
    # Our own jar is built from source (test_our_jar_is_built_from_the_sources_the_image_compiles).
    jars = {Path(p).name: Path(p) for p in spark_jars.split(",") if Path(p).name != JOB_JAR}
    scala = args["SCALA_BINARY_VERSION"]
    expected = {
        f"spark-sql-kafka-0-10_{scala}-{args['SPARK_VERSION']}.jar": "SPARK_SQL_KAFKA_SHA256",
        f"spark-token-provider-kafka-0-10_{scala}-{args['SPARK_TOKEN_PROVIDER_VERSION']}.jar": (
            "SPARK_TOKEN_PROVIDER_SHA256"
        ),
        f"kafka-clients-{args['KAFKA_CLIENTS_VERSION']}.jar": "KAFKA_CLIENTS_SHA256",
        f"commons-pool2-{args['COMMONS_POOL2_VERSION']}.jar": "COMMONS_POOL2_SHA256",
    }
    assert set(jars) == set(expected)
    for name, arg in expected.items():
        assert hashlib.sha256(jars[name].read_bytes()).hexdigest() == args[arg], name
    # Each jar is fetched and checked in the build.
    assert DOCKERFILE.count("fetch ") == 4
    assert "sha256sum -c -" in DOCKERFILE


def test_our_jar_is_built_from_the_sources_the_image_compiles(spark_jars: str) -> None:
    ours = [Path(p) for p in spark_jars.split(",") if Path(p).name == JOB_JAR]
    assert len(ours) == 1
    # The tests' jar is compiled from images/spark-job/java (devtools.services.spark_jars), the
    # image's from the same folder, into $SPARK_HOME/jars where the job looks for it.
    assert ours[0].resolve().parent.name == "built"
    assert JAVA_SOURCES == IMAGE_DIR / "java"
    assert "COPY images/spark-job/java " in DOCKERFILE
    assert f"/opt/spark/jars/{JOB_JAR}\n" in DOCKERFILE
    with zipfile.ZipFile(ours[0]) as jar:
        classes = {n.removesuffix(".class").replace("/", ".") for n in jar.namelist() if n.endswith(".class")}
    assert NIO_FILESYSTEM_CLASS in classes


def test_image_installs_the_pinned_requirements_the_tests_install() -> None:
    assert "COPY images/spark-job/requirements.txt /opt/tweet-sentiment/requirements.txt" in DOCKERFILE
    assert re.search(
        r"pip3 install --no-cache-dir --no-deps -r /opt/tweet-sentiment/requirements\.txt", DOCKERFILE
    )
    tests_requirements = (REPO_ROOT / "tests" / "requirements.txt").read_text().splitlines()
    assert "-r ../images/spark-job/requirements.txt" in tests_requirements
    for req in pins():
        assert len(req.specifier) == 1, f"{req} must be pinned exactly"
        (spec,) = req.specifier
        assert spec.operator == "==", req
        if req.marker is None or req.marker.evaluate():
            assert metadata.version(req.name) == spec.version, f"the test venv has another {req.name}"


@pytest.mark.parametrize("python", ["3.10", "3.11"])
def test_requirements_are_a_closed_set(python: str) -> None:
    """`pip install --no-deps` installs only this file: every runtime dependency of every pin
    must itself be pinned, at a version its dependents accept, on the image's Python (3.10)
    and on the dev venv's (3.11). Dependencies are read from the installed distributions."""
    env = marker_env(python)
    pinned = {
        canonicalize_name(r.name): Version(next(iter(r.specifier)).version)
        for r in pins()
        if r.marker is None or r.marker.evaluate(env)
    }
    # Ours: the job and packages/common (both copied into the image, not pinned).
    pinned[canonicalize_name("tweet-sentiment-job")] = Version("0")
    pinned[canonicalize_name("tweet-sentiment-common")] = Version("0")
    problems = []
    for name in [*pinned, "tweet-sentiment-job", "tweet-sentiment-common"]:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # pinned for the other Python only (its deps were checked there)
        for raw in requires:
            dep = Requirement(raw)
            if dep.marker is not None and not dep.marker.evaluate(env):
                continue
            key = canonicalize_name(dep.name)
            if key == "pyspark":
                continue  # the image's Spark provides it
            if key not in pinned:
                problems.append(f"{name} needs {dep}, which is not pinned")
            elif dep.specifier and pinned[key] not in dep.specifier:
                problems.append(f"{name} needs {dep}, pinned {pinned[key]}")
    assert not problems, "\n".join(problems)


def test_entry_point_and_spark_defaults() -> None:
    # (The user, 185, is asserted on the built image: tests/images.)
    assert "COPY images/spark-job/main.py /opt/tweet-sentiment/main.py" in DOCKERFILE
    assert (IMAGE_DIR / "main.py").read_text().count("sentiment_job.job import main") == 1
    conf = read_spark_defaults(IMAGE_DIR / "spark-defaults.conf")
    assert conf["spark.ui.prometheus.enabled"] == "true"
    # The one place it is set: the streaming query's metrics, for the sink configured here.
    assert conf["spark.sql.streaming.metricsEnabled"] == "true"
    assert conf["spark.metrics.conf.*.sink.prometheusServlet.class"] == (
        "org.apache.spark.metrics.sink.PrometheusServlet"
    )
    assert conf["spark.metrics.conf.*.sink.prometheusServlet.path"] == "/metrics/prometheus"
    assert "COPY images/spark-job/spark-defaults.conf /opt/spark/conf/spark-defaults.conf" in DOCKERFILE
    assert "TWEET_SENTIMENT_SPARK_DEFAULTS=/opt/tweet-sentiment/spark-defaults.conf" in DOCKERFILE


def test_the_build_context_sends_every_copy_source_and_no_tests() -> None:
    """Context = repository root: the root .dockerignore sends every COPY source (and no tests).
    (That the shared package is installed with the job: tests/images imports both.)"""
    lines = [ln for ln in (REPO_ROOT / ".dockerignore").read_text().splitlines() if ln and ln[0] != "#"]
    allowed = [ln[1:].rstrip("/") for ln in lines if ln.startswith("!")]
    sources = copy_sources(IMAGE_DIR / "Dockerfile")  # not `COPY --from=<stage>`
    assert sources
    for source in sources:
        assert any(
            source == a or source.startswith(a + "/") or a.startswith(source + "/") for a in allowed
        ), source
    assert not any(a.startswith("tests") for a in allowed)
