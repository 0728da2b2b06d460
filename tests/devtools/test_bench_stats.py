"""The benchmark's pure logic (no services, milliseconds): percentiles, the sustained rule,
the rate search and the page. The benchmark itself is `make bench`, not part of `make test`."""

from __future__ import annotations

import math

import pytest

from devtools.bench.e2e import Step
from devtools.bench.report import StageResult, render
from devtools.bench.run import config, next_rate
from devtools.bench.stats import percentile, slope, sustained


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([3.0], 99) == 3.0
    assert math.isnan(percentile([], 50))


def test_slope_of_a_line_and_of_a_sawtooth() -> None:
    assert slope([(t, 5 * t + 3) for t in range(10)]) == pytest.approx(5)
    # Batches drain the backlog in steps: a flat sawtooth has a slope near zero.
    saw = [(t, 100 if t % 4 else 400) for t in range(0, 60, 2)]
    assert abs(slope(saw)) < 5
    assert slope([(0, 1)]) == 0


@pytest.mark.parametrize(
    ("produced", "growth", "expected"),
    [(1000, 0, True), (1000, 29, True), (1000, 31, False), (850, 0, False)],
)
def test_sustained_needs_the_rate_reached_and_a_flat_backlog(
    produced: float, growth: float, expected: bool
) -> None:
    assert sustained(1000, produced, growth)[0] is expected


def step(rate: float, ok: bool) -> Step:
    return Step(rate, rate, rate, 0, 0, 0.0, ok, "")


def test_rate_search_goes_up_then_halfway_back_once() -> None:
    rates = [500.0, 1000.0, 2000.0, 4000.0]
    assert next_rate([], rates, set()) == 500
    assert next_rate([step(500, True)], rates, {500}) == 1000
    steps = [step(500, True), step(1000, True), step(2000, False)]
    assert next_rate(steps, rates, {500, 1000, 2000}) == 1500
    assert next_rate([*steps, step(1500, False)], rates, {500, 1000, 2000, 1500}) is None
    assert next_rate([step(500, False)], rates, {500}) is None
    assert next_rate([step(4000, True)], rates, set(rates)) is None


def test_page_renders_partial_results_and_judges_targets() -> None:
    cfg = config()
    stage = StageResult(
        100, {"spark/textblob": [1900.0], "python/textblob": [1000.0], "original/textblob": [700.0]}
    )
    page = render(
        {
            "config": cfg,
            "machine": {"CPUs (nproc)": "2"},
            "notes": ["preliminary"],
            "wall_minutes": 1.0,
            "stage": stage,
            "latency": {},
            "steps": {},
            "sustained": {},
            "startup": {},
        }
    )
    assert "> **preliminary**" in page
    assert "| textblob | 1,900 | 1,000 | 2,000 | 700 | 95% | 2.71× |" in page
    assert page.count("**met**") == 2  # 95% of the ceiling and 2.71× the original
    assert "| vader | n/a |" in page
