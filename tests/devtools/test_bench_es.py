"""The Elasticsearch part of the benchmark: its statistics and its section of the page (pure,
no services). The measurement itself runs in `make bench` (`python -m devtools.bench.es`)."""

from __future__ import annotations

import math

import pytest

from devtools.bench.es import (
    BulkSize,
    EsResult,
    Refresh,
    interval_seconds,
    rotated,
    searchable_after,
    section,
    shipped_defaults,
)
from devtools.bench.report import render
from devtools.bench.run import config


def test_searchable_after_is_the_first_count_after_the_ack_that_includes_the_bulk() -> None:
    acks = [(1.00, 10), (1.05, 20), (1.10, 30)]
    polls = [
        (0.99, 0),
        (1.02, 10),  # bulk 1 (acked at 1.00) seen
        (1.04, 10),
        (1.08, 10),
        (1.30, 30),  # one refresh shows bulks 2 and 3
    ]
    assert searchable_after(acks, polls) == pytest.approx([0.02, 0.25, 0.20])


def test_searchable_after_ignores_counts_answered_before_the_ack_and_unseen_bulks() -> None:
    # A count can include a bulk whose acknowledgement had not reached the writer yet: the
    # latency starts at the acknowledgement, so only later counts are used.
    acks = [(1.00, 10), (2.00, 20)]
    polls = [(0.99, 10), (1.01, 10), (1.50, 10)]
    assert searchable_after(acks, polls) == pytest.approx([0.01])
    assert searchable_after([], polls) == []
    assert searchable_after(acks, []) == []


def test_rotated_interleaves_runs() -> None:
    items = ["1s", "500ms", "250ms"]
    assert [rotated(items, k) for k in range(4)] == [
        ["1s", "500ms", "250ms"],
        ["500ms", "250ms", "1s"],
        ["250ms", "1s", "500ms"],
        ["1s", "500ms", "250ms"],
    ]
    assert rotated([], 2) == []


@pytest.mark.parametrize(
    ("value", "seconds"), [("1s", 1.0), ("500ms", 0.5), ("250ms", 0.25), ("2m", 120.0), ("-1", math.inf)]
)
def test_interval_seconds(value: str, seconds: float) -> None:
    assert interval_seconds(value) == seconds


def test_interval_seconds_rejects_what_is_not_a_time_value() -> None:
    with pytest.raises(ValueError, match="time value"):
        interval_seconds("fast")


def test_bulk_size_percentiles_and_rate() -> None:
    b = BulkSize(500, seconds=[0.01 * i for i in range(1, 101)], wall=2.0)
    assert b.p(50) == pytest.approx(0.50)
    assert b.p(99) == pytest.approx(0.99)
    assert b.docs_per_s == pytest.approx(500 * 100 / 2.0)
    assert math.isnan(BulkSize(10).docs_per_s)


def test_refresh_rate_is_the_median_of_the_runs() -> None:
    r = Refresh("250ms", visible=[0.1, 0.2, 0.3], rates=[90.0, 100.0, 500.0])
    assert r.rate == 100.0
    assert r.p(50) == pytest.approx(0.2)
    assert math.isnan(Refresh("1s").rate)


def result() -> EsResult:
    return EsResult(
        bulk=[
            BulkSize(25, seconds=[0.003] * 10, wall=0.05),  # 5,000 docs/s
            BulkSize(500, seconds=[0.020] * 10, wall=0.25),  # 20,000 docs/s
        ],
        refresh=[
            Refresh("1s", visible=[0.5, 1.0], rates=[20_000.0], refreshes_per_s=[0.8], merges=[0],
                    segments=[8], upkeep_ms=[10.0]),
            Refresh("500ms", visible=[0.25, 0.5], rates=[19_000.0], refreshes_per_s=[1.6], merges=[0],
                    segments=[16], upkeep_ms=[10.5]),
            Refresh("100ms", visible=[]),  # a run that measured nothing
        ],
        doc_bytes=540.0,
        throughput_chunk=500,
        bulk_window=2.0,
        visibility_window=8.0,
        throughput_window=6.0,
        runs=3,
    )  # fmt: skip


def test_section_tables_mark_the_defaults_and_compare_with_1s() -> None:
    lines = section(result(), {"refresh_interval": "500ms", "bulk_chunk_size": 500})
    page = "\n".join(lines)
    assert lines[0] == "## 6. Elasticsearch: bulk size and refresh interval"
    assert "| 25 | 13 KiB | 10 | 3 / 3 | 120 | 5,000 |" in page
    assert "| 500 (default) | 264 KiB | 10 | 20 / 20 | 40 | 20,000 |" in page
    assert "One writer peaks at 20,000 docs/s with bulks of 500 (+300% over 25 per bulk)." in page
    assert "| 1s | 500 / 1,000 | 2 | 20,000 | (baseline) | 0.8 | 0 | 8 | 10.0 |" in page
    assert "| 500ms (default) | 250 / 500 | 2 | 19,000 | -5% | 1.6 | 0 | 16 | 10.5 |" in page
    assert "| 100ms | n/a / n/a | 0 | n/a | n/a | n/a | n/a | n/a | n/a |" in page
    # What a user trades, backfills included.
    assert "`refresh_interval: 500ms`" in page
    assert "`ES_BULK_CHUNK_SIZE=500`" in page
    assert "`-1`" in page


def test_section_is_empty_without_the_part() -> None:
    assert section(None, {}) == []


def test_page_has_the_section_when_the_part_ran() -> None:
    base = {
        "config": config(),
        "machine": {"CPUs (nproc)": "2"},
        "notes": [],
        "wall_minutes": 3.0,
        "latency": {},
        "steps": {},
        "sustained": {},
        "startup": {},
    }
    assert "## 6. Elasticsearch" not in render(base)
    page = render(
        {**base, "es": result(), "es_defaults": {"refresh_interval": "500ms", "bulk_chunk_size": 500}}
    )
    assert "## 6. Elasticsearch: bulk size and refresh interval" in page
    assert "| 500ms (default) |" in page


def test_shipped_defaults_are_read_from_the_template_and_the_settings_model() -> None:
    assert shipped_defaults() == {"refresh_interval": "500ms", "bulk_chunk_size": 500}
