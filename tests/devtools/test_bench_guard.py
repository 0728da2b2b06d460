"""`make bench` refuses to write docs/benchmarks.md from a busy machine unless told to."""

from __future__ import annotations

from collections.abc import Iterator

from devtools.bench.machine import ALLOW_BUSY_ENV, BUSY_LOAD, LoadLog, allow_busy, gate
from tests.devtools.bench_pages import render_page


def readings(*values: float) -> Iterator[float]:
    yield from values


def log_of(*values: float) -> LoadLog:
    it = readings(*values)
    return LoadLog(read=lambda: next(it))


def test_each_part_records_the_load_before_and_after() -> None:
    loads = log_of(0.4, 0.9, 1.2, 1.7)
    with loads.part("stage"):
        pass
    with loads.part("throughput (textblob)"):
        pass
    assert [(p.part, p.before, p.after) for p in loads.parts] == [
        ("stage", 0.4, 0.9),
        ("throughput (textblob)", 1.2, 1.7),
    ]
    # Busy is judged at the start of a part: the run itself raises the load.
    assert loads.busy() == []
    assert gate(loads, allowed=False) == (True, None)


def test_a_part_starting_busy_refuses_the_report() -> None:
    loads = log_of(0.5, 2.0, BUSY_LOAD + 0.01, 3.0)
    for name in ("stage", "latency 50/s (textblob)"):
        with loads.part(name):
            pass
    write, message = gate(loads, allowed=False)
    assert write is False
    assert message is not None
    assert "latency 50/s (textblob) (1.51)" in message
    assert ALLOW_BUSY_ENV in message
    assert "stage" not in message


def test_allowed_busy_run_writes_a_bold_warning_at_the_top() -> None:
    loads = log_of(4.0, 4.5)
    with loads.part("stage"):
        pass
    write, warning = gate(loads, allowed=True)
    assert write is True
    assert warning is not None
    page = render_page(loads=loads.parts, warning=warning)
    lines = page.splitlines()
    assert lines[0] == "# Benchmarks"
    assert lines[2].startswith("> **WARNING: measured on a BUSY machine")
    assert lines[2].endswith("**")
    assert "stage started at 4.00 (ended 4.50)" in lines[2]
    assert "| stage | 4.00 | 4.50 |" in page


def test_the_flag_is_explicit() -> None:
    assert allow_busy({}) is False
    assert allow_busy({ALLOW_BUSY_ENV: "0"}) is False
    assert allow_busy({ALLOW_BUSY_ENV: "1"}) is True


def test_a_part_waits_for_the_previous_parts_load_to_fade() -> None:
    naps: list[float] = []
    loads = LoadLog(
        read=iter([2.4, 1.9, 1.2, 0.8]).__next__, settle_seconds=60, poll_seconds=5, sleep=naps.append
    )
    with loads.part("latency 1000/s"):
        pass
    assert naps == [5, 5]
    assert (loads.parts[0].before, loads.parts[0].after) == (1.2, 0.8)
    assert loads.busy() == []


def test_a_machine_that_stays_busy_is_busy_after_the_wait() -> None:
    naps: list[float] = []
    loads = LoadLog(read=iter([3.0] * 5).__next__, settle_seconds=10, poll_seconds=5, sleep=naps.append)
    with loads.part("stage"):
        pass
    assert naps == [5, 5]
    assert [p.part for p in loads.busy()] == ["stage"]
