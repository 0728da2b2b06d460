"""`make demo`: the demo path itself, on its own topic, index, ports and state directory.

The slow test runs `python -m tests.services.demo run` as `make demo` does (replay of the
bundled sample), then checks its output, its chart and the index it filled, then `demo down`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unique
from tests.services import demo
from tests.services.common import read_pid, state_dir
from tests.services.elasticsearch import ElasticsearchNode
from tests.services.kafka import KafkaBroker

REPO_ROOT = Path(__file__).resolve().parents[2]
LABELS = ("Positive", "Neutral", "Negative", "Unsupported")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample_ids() -> set[str]:
    """`_id`s of the unique valid posts of the bundled sample (an X v2 envelope per line)."""
    ids = set()
    for line in demo.SAMPLE.read_text(encoding="utf-8").splitlines():
        data = json.loads(line).get("data", {}) if line.strip() else {}
        if isinstance(data.get("id"), str) and isinstance(data.get("text"), str):
            ids.add(f"replay:{data['id']}")
    return ids


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
        [sys.executable, "-m", "tests.services.demo", action],
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
        assert chart.read_bytes()[:8] == PNG_MAGIC
        import matplotlib.image

        height, width, _ = matplotlib.image.imread(chart).shape
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


def test_bad_setting_names_its_variable() -> None:
    with pytest.raises(demo.DemoError, match="DEMO_SECONDS='soon'"):
        demo.settings_from({"DEMO_SECONDS": "soon"})


def test_settings_env_then_flags() -> None:
    args = demo.parser().parse_args(["run", "--index", "from-flag", "--job-port", "19109"])
    s = demo.settings_from({"DEMO_INDEX": "from-env", "DEMO_TOPIC": "t1", "DEMO_KEEP": "1"}, args)
    assert (s.index, s.topic, s.job_port, s.producer_port, s.keep) == ("from-flag", "t1", 19109, 9108, True)
    assert s.output_dir.is_absolute()


@pytest.mark.parametrize(
    ("source", "env", "finite"),
    [
        ("replay", {}, True),
        ("replay", {"REPLAY_LOOP": "true"}, False),
        ("synthetic", {}, False),
        ("synthetic", {"SYNTHETIC_LIMIT": "500"}, True),
        ("bluesky", {}, False),
    ],
)
def test_which_sources_end_by_themselves(source: str, env: dict[str, str], finite: bool) -> None:
    assert demo.Settings(source=source).finite(env) is finite


def progress(**kw: object) -> demo.Progress:
    base: dict[str, object] = {
        "elapsed": 12.4,
        "published": 345,
        "invalid": 0,
        "deadlettered": 0,
        "producer": "exited 0",
        "job_rows": 345,
        "job_batches": 2,
        "job_behind": 0,
        "indexed": 300,
        "labels": {"Positive": 120, "Neutral": 100, "Negative": 80, "Unsupported": 0},
        "expected": 345,
        "rate": 42.5,
    }
    base.update(kw)
    return demo.Progress(**base)  # type: ignore[arg-type]


def test_render_progress_lines() -> None:
    lines = demo.render_progress(progress())
    assert lines[0].startswith("tweet-sentiment demo")
    assert "published 345" in lines[1]
    assert "(exited 0)" in lines[1]
    assert "batches 2   rows read 345   offsets behind 0" in lines[2]
    assert "first batch" in demo.render_progress(progress(job_batches=0))[2]
    assert "300 / 345 [##########################----]   42.5 posts/s" in lines[3]
    assert lines[4] == "  labels     Positive 120  Neutral 100  Negative 80"


def test_view_redraws_on_a_terminal_and_prints_lines_otherwise() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    view = demo.View(tty)
    if not view.tty:  # TERM=dumb
        pytest.skip("TERM=dumb disables the redraw")
    view.show(progress())
    view.show(progress(indexed=345))
    first, second = tty.getvalue().split("\x1b[5F\x1b[J")
    assert first.count("\n") == 5
    assert "345 / 345" in second

    plain = io.StringIO()
    view = demo.View(plain, every=5.0)
    for t in (0.0, 1.0, 2.0, 6.0):
        view.show(progress(elapsed=t))
    assert plain.getvalue().count("\n") == 2
    assert "\x1b" not in plain.getvalue()
    assert plain.getvalue().startswith(
        "[   0s] published 345, indexed 300/345 (Positive 120, Neutral 100, Negative 80)"
    )


def test_parse_metrics_sums_label_sets() -> None:
    text = (
        "# HELP producer_posts_published_total x\n"
        "producer_posts_published_total 345.0\n"
        'producer_records_invalid_total{source="replay",reason="json"} 2.0\n'
        'producer_records_invalid_total{source="replay",reason="no_id"} 3.0\n'
    )
    values = demo.parse_metrics(text)
    assert demo.metric_sum(values, "producer_posts_published_total") == 345
    assert demo.metric_sum(values, "producer_records_invalid_total") == 5
    assert demo.metric_sum(values, "producer_records") == 0
