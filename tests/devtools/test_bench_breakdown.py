"""The per-batch breakdown summary that `make bench` puts in docs/benchmarks.md."""

from __future__ import annotations

from devtools.bench.breakdown import parse, summarise, table

LOG = [
    "2026-11-30 00:10:14,200 INFO sentiment_job: batch 1: 29 rows in 3 task(s), 29 indexed, 0 dead-lettered, 0 rejected in 0.7s; "
    "tasks: rows in 40 ms, prepare 8 ms, score 9 ms, bulk 30 ms",
    "2026-11-30 00:10:14,236 INFO sentiment_job.metrics: batch 1 (29 rows): kafka offsets 9 ms, kafka batch 1 ms, "
    "planning 13 ms, process+write 695 ms, commit 120 ms; total 844 ms; listener 0.1 ms",
    "2026-11-30 00:10:15,257 INFO sentiment_job.metrics: batch 2 (9 rows): kafka offsets 7 ms, kafka batch 1 ms, "
    "planning 11 ms, process+write 305 ms, commit 100 ms; total 430 ms; listener 0.3 ms",
    "2026-11-30 00:10:16,000 INFO sentiment_job.job: batch 2: 9 indexed in 0.4s",  # not a breakdown line
    "2026-11-30 00:20:00,000 INFO sentiment_job.metrics: batch 90 (5400 rows): kafka offsets 5 ms, kafka batch 0 ms, "
    "planning 3 ms, process+write 790 ms, commit 100 ms; total 904 ms; listener 0.1 ms",
    "2026-11-30 00:20:01,000 INFO sentiment_job.metrics: batch 91 (300 rows): kafka offsets 5 ms, kafka batch 0 ms, "
    "planning 3 ms, process+write 400 ms, commit 90 ms; total 500 ms; listener 0.1 ms",
]


def test_lines_parse_in_phase_order() -> None:
    first = parse(LOG)[0]
    assert list(first) == [
        "rows",
        "kafka offsets",
        "kafka batch",
        "planning",
        "process+write",
        "tasks: rows in",
        "tasks: prepare",
        "tasks: score",
        "tasks: bulk",
        "commit",
        "total",
        "listener",
    ]
    assert first["process+write"] == 695.0
    assert first["tasks: bulk"] == 30.0
    batches = parse(LOG)
    assert len(batches) == 4
    # A batch whose job logged no task phases (an older job) has none; the table shows 0.
    assert "tasks: prepare" not in batches[1]


def test_small_and_large_batches_are_summarised_apart() -> None:
    summary = summarise(parse(LOG))
    assert summary["small"]["batches"] == 2
    assert summary["small"]["process+write"] == 500.0  # the median of 695 and 305
    assert summary["large"]["rows"] == 5400  # the 300-row batch is in neither bucket
    rows = table(summary)
    assert rows[2].startswith("| ≤ 30 rows (50 posts/s) | 2 | 19 |")
    assert table({}) == []
