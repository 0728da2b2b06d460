"""The bench's cost figures: CPU of the job's tree and of the services over a window (/proc
reads of real processes), pooling, and the page's section and target lines (pure)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import pytest

from devtools.bench.cost import Cost, CostMeter, pooled
from devtools.bench.run import config
from tests.devtools.bench_pages import render_page

SPINNER = "import time\nend = time.process_time() + 30\nwhile time.process_time() < end: pass"


def test_meter_reads_the_job_tree_and_each_service_apart() -> None:
    service = subprocess.Popen([sys.executable, "-c", SPINNER])
    posts = iter([100, 350])
    try:
        meter = CostMeter(
            os.getpid, lambda: next(posts), {"Kafka": lambda: service.pid, "Elasticsearch": lambda: None}
        )
        meter.start()
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        cost = meter.stop("50/s", 50.0)
    finally:
        service.kill()
        service.wait()
    assert cost.posts == 250
    assert cost.job["main process (Python)"] == pytest.approx(0.3, abs=0.1)
    # The spinning service is a child of this process too, but its own figure is apart.
    assert cost.services["Kafka"] > 0.1
    assert cost.services["Elasticsearch"] == 0.0  # not running: counts 0
    assert cost.load.count(" / ") == 2
    assert math.isnan(cost.job_age)  # no start time given


def test_meter_records_the_job_age_when_the_window_opens() -> None:
    meter = CostMeter(os.getpid, lambda: 0, job_started=time.monotonic() - 600.0)
    meter.start()
    cost = meter.stop("50/s warm", 50.0)
    assert cost.job_age == pytest.approx(600.0, abs=5.0)


def test_cores_and_cpu_per_post() -> None:
    cost = Cost(
        "50/s",
        50,
        seconds=30.0,
        posts=1500,
        job={"Spark JVM (driver, local executors)": 6.0, "Python workers": 1.5},
    )
    assert cost.job_cores == pytest.approx(0.25)
    assert cost.us_per_post == pytest.approx(5000)
    idle = Cost("idle", 0, seconds=30.0, posts=0, job={"main process (Python)": 0.3})
    assert idle.job_cores == pytest.approx(0.01)
    assert math.isnan(idle.us_per_post)


def test_pooled_sums_the_runs() -> None:
    a = Cost("50/s", 50, 30.0, 1500, {"Python workers": 1.0}, {"Kafka": 0.5}, load="0.50 / 0.40 / 0.30")
    b = Cost("50/s", 50, 30.0, 1500, {"Python workers": 2.0, "main process (Python)": 0.3}, {"Kafka": 0.7})
    both = pooled("50/s", 50, [a, b])
    assert both is not None
    assert (both.seconds, both.posts) == (60.0, 3000)
    assert both.job == {"Python workers": 3.0, "main process (Python)": 0.3}
    assert both.services == {"Kafka": pytest.approx(1.2)}
    assert both.load == a.load  # the first window's
    assert pooled("50/s", 50, []) is None


def page(costs: dict[str, dict[str, Cost]]) -> str:
    return render_page(
        latency={50: {"indexed": {50: 0.1, 95: 0.2, 99: 0.3}, "searchable": {50: 0.4, 95: 0.5, 99: 0.6},
                      "n_indexed": 10, "n_searchable": 5, "unfound": 0}},
        sustained={config()["latency_model"]: 6000.0},
        cost=costs,
    )  # fmt: skip


def test_page_reports_cost_beside_latency_and_throughput_with_the_load() -> None:
    model = config()["latency_model"]
    jvm, workers = "Spark JVM (driver, local executors)", "Python workers"
    costs = {
        model: {
            "idle": Cost("idle", 0, 30.0, 0, {jvm: 0.9}, {"Kafka": 0.3, "Elasticsearch": 0.6}, load="0.40 / 0.5 / 0.6"),
            "50": Cost("50/s", 50, 30.0, 1500, {jvm: 4.5, workers: 1.5}, {"Kafka": 0.6, "Elasticsearch": 1.5}, load="0.80 / 1 / 1"),
            "50 warm": Cost("50/s warm", 50, 60.0, 3000, {jvm: 6.0, workers: 3.0}, load="0.70 / 1 / 1", job_age=905.0),
            "max": Cost("6,000/s", 6000, 60.0, 360000, {jvm: 30.0, workers: 60.0}, load="1.20 / 1 / 1"),
        }
    }  # fmt: skip
    text = page(costs)
    assert "## 7. What it costs: CPU at a rate" in text
    assert f"| {model} | idle | 0.40 | 0 | **0.03** | 0.00 / 0.03 / 0.00 | n/a | 0.01 | 0.02 |  |" in text
    assert (
        f"| {model} | 50/s | 0.80 | 50 | **0.20** | 0.00 / 0.15 / 0.05 | 4,000 | 0.02 | 0.05 | p99 to indexed 0.30 s |"
        in text
    )
    assert (
        f"| {model} | 6,000/s (max) | 1.20 | 6,000 | **1.50** | 0.00 / 0.50 / 1.00 | 250 | nan | nan | sustained 6,000/s |"
        in text
    )
    assert "| idle job (no posts) ≤ 0.05 cores | 0.03 cores (load 0.40) | **met** |" in text
    # The latency part's window, the job minutes old: reported, not graded (the target is the
    # cost around the clock, the warm window's).
    assert (
        "| job CPU at 50 posts/s while its JIT warms up: reported, the target is the warm job's "
        "| 0.20 cores (load 0.80) | n/a |" in text
    )
    assert "job CPU at 50 posts/s ≤ 0.25 cores | 0.20" not in text
    # The warm window: its own row and target line, each naming the job's age.
    assert (
        f"| {model} | 50/s (job 15 min old) | 0.70 | 50 | **0.15** | 0.00 / 0.10 / 0.05 | 3,000 | nan | nan |  |"
        in text
    )
    assert (
        "| job CPU at 50 posts/s ≤ 0.25 cores (job 15 min old) | 0.15 cores (load 0.70) | **met** |" in text
    )
    assert text.index("| 50/s |") < text.index("| 50/s (job 15 min old) |") < text.index("| 6,000/s (max) |")


def test_no_cost_no_section() -> None:
    assert "What it costs" not in page({})


def test_pid_listening_finds_the_process_that_listens_on_a_port() -> None:
    import socket

    from devtools.bench.cost import pid_listening

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert pid_listening(port) == os.getpid()
    assert pid_listening(port) is None  # closed: nobody listens
