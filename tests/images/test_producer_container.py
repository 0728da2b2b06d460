"""The producer image, run: non-root uid 10001, its settings validation, a read-only root
filesystem with the one documented writable volume (built by devtools.images on the stand-in
base; see devtools/images/README.md for what the stand-in differs in)."""

from __future__ import annotations

import json
import time

import pytest

from devtools.images import Engine
from tests.images.images_helpers import RunImage

pytestmark = pytest.mark.images


def test_runs_as_uid_10001(run_producer: RunImage) -> None:
    proc = run_producer("-c", "import os; print(os.getuid(), os.getgid())", entrypoint="python3")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["10001", "10001"]


def test_entrypoint_validates_the_settings(run_producer: RunImage) -> None:
    """The image's ENTRYPOINT is the installed `tweet-producer`: a bad configuration is refused
    with exit 2 and a message naming the variable (nothing is contacted)."""
    proc = run_producer(docker_args=("--env=SOURCE=x-sample",))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "invalid configuration" in proc.stderr
    assert "X_BEARER_TOKEN" in proc.stderr


CHECK_READ_ONLY = """
import json, os, pathlib
from tweet_producer.settings import load_settings
s = load_settings()
cursor = pathlib.Path(s.jetstream_cursor_file)
cursor.write_text("1")
try:
    pathlib.Path("/app/probe").write_text("x")
    root_writable = True
except OSError:
    root_writable = False
print(json.dumps({"source": s.source.value, "replay_file": str(s.replay_file),
                  "replay_exists": pathlib.Path(str(s.replay_file)).is_file(),
                  "cursor": str(cursor), "root_writable": root_writable}))
"""


def test_read_only_root_with_the_cursor_volume(run_producer: RunImage) -> None:
    """`--read-only`: the default settings load (bundled replay sample), the Jetstream cursor
    can be written to its volume, and nothing else is writable."""
    proc = run_producer(
        "-c",
        CHECK_READ_ONLY,
        entrypoint="python3",
        docker_args=("--read-only", "--volume=/var/lib/tweet-producer"),
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "source": "replay",
        "replay_file": "/app/samples/posts.jsonl",
        "replay_exists": True,
        "cursor": "/var/lib/tweet-producer/jetstream.cursor",
        "root_writable": False,
    }


HEALTHZ = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:9108/healthz', timeout=2).status)"


def test_the_default_producer_serves_health_on_a_read_only_root(
    docker_engine: Engine, producer_image: str
) -> None:
    """The image as the chart runs it (read-only root, the cursor volume), Kafka unreachable:
    the producer starts, retries Kafka and answers /healthz on :9108; SIGTERM stops it."""
    started = docker_engine.run(
        "run", "--detach", "--network=none", "--hostname=localhost", "--read-only",
        "--volume=/var/lib/tweet-producer", "--env=KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1", producer_image,
    )  # fmt: skip
    container = started.stdout.strip()
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != "200":
            probe = docker_engine.run("exec", container, "python3", "-c", HEALTHZ, check=False, timeout=30)
            status = probe.stdout.strip() or None
            if (
                docker_engine.run("inspect", "--format", "{{.State.Running}}", container).stdout.strip()
                != "true"
            ):
                break
        logs = docker_engine.run("logs", container, check=False).stderr
        assert status == "200", logs[-3000:]
        assert "metrics and health on 0.0.0.0:9108" in logs
        docker_engine.run("stop", "--time=20", container, timeout=60)
    finally:
        docker_engine.run("rm", "--force", "--volumes", container, check=False)
