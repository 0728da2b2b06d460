"""The per-batch breakdown log line, from Spark's progress report (no Spark needed)."""

from __future__ import annotations

from types import SimpleNamespace

from sentiment_job.metrics import batch_breakdown


def test_breakdown_names_every_phase_of_a_batch() -> None:
    progress = SimpleNamespace(
        batchId=7,
        numInputRows=50,
        durationMs={
            "latestOffset": 3,
            "getBatch": 1,
            "queryPlanning": 12,
            "addBatch": 180,
            "walCommit": 9,
            "commitOffsets": 8,
            "triggerExecution": 215,
        },
    )
    assert batch_breakdown(progress) == (
        "batch 7 (50 rows): kafka offsets 3 ms, kafka batch 1 ms, planning 12 ms, "
        "process+write 180 ms, commit 17 ms; total 215 ms"
    )


def test_missing_phases_count_as_zero() -> None:
    progress = SimpleNamespace(batchId=0, numInputRows=None, durationMs=None)
    assert batch_breakdown(progress).endswith("process+write 0 ms, commit 0 ms; total 0 ms")
