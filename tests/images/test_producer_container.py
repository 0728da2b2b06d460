"""The producer image, run: non-root uid 10001, its settings validation, a read-only root
filesystem with the one documented writable volume (built by devtools.images on the stand-in
base; see devtools/images/README.md for what the stand-in differs in)."""

from __future__ import annotations

import json

import pytest

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
