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


# The JSON Spark's StreamingQueryProgress.json() writes for one batch of this job (trimmed).
PROGRESS_JSON = """{
  "id": "5f0c7a1e-8d7e-4b9a-9c61-0c6f8a1b2c3d", "runId": "6a1d8b2f-9e8f-4cab-8d72-1d7a9b2c3d4e",
  "name": "tweet-sentiment", "timestamp": "2026-12-07T01:42:52.426Z", "batchId": 12,
  "batchDuration": 215, "numInputRows": 102, "inputRowsPerSecond": 51.0,
  "processedRowsPerSecond": 474.4,
  "durationMs": {"addBatch": 180, "commitOffsets": 8, "getBatch": 1, "latestOffset": 3,
                 "queryPlanning": 12, "triggerExecution": 215, "walCommit": 9},
  "stateOperators": [],
  "sources": [{
    "description": "KafkaV2[Subscribe[posts]]",
    "startOffset": {"posts": {"2": 30, "1": 40, "0": 32}},
    "endOffset": {"posts": {"2": 64, "1": 74, "0": 66}},
    "latestOffset": {"posts": {"2": 66, "1": 74, "0": 67}},
    "numInputRows": 102, "inputRowsPerSecond": 51.0, "processedRowsPerSecond": 474.4,
    "metrics": {"avgOffsetsBehindLatest": "1.0", "maxOffsetsBehindLatest": "2",
                "minOffsetsBehindLatest": "0"}
  }],
  "sink": {"description": "ForeachBatchSink", "numOutputRows": -1}
}"""


def test_progress_from_json_feeds_the_metrics_as_pysparks_objects_do() -> None:
    from prometheus_client import CollectorRegistry

    from sentiment_job.metrics import JobMetrics, offsets_behind, progress_from_json

    progress = progress_from_json(PROGRESS_JSON)
    assert batch_breakdown(progress) == (
        "batch 12 (102 rows): kafka offsets 3 ms, kafka batch 1 ms, planning 12 ms, "
        "process+write 180 ms, commit 17 ms; total 215 ms"
    )
    # The offsets stay JSON text (pyspark's fromJson would make them a Python repr).
    assert offsets_behind(progress.sources) == 3  # avg 1.0 x 3 partitions
    registry = CollectorRegistry()
    metrics = JobMetrics(registry)
    metrics.record_progress(progress, "posts", now=1000.0)
    assert registry.get_sample_value("sentiment_job_input_rows_total") == 102
    assert registry.get_sample_value("sentiment_job_offsets_behind_latest", {"topic": "posts"}) == 3
    assert registry.get_sample_value("sentiment_job_last_batch_timestamp_seconds") == 1000.0


def test_progress_from_json_of_an_idle_report() -> None:
    from sentiment_job.metrics import progress_from_json

    progress = progress_from_json('{"batchId": 3, "numInputRows": 0, "sources": [], "durationMs": {}}')
    assert progress.numInputRows == 0
    assert progress.sources == []
    assert progress.inputRowsPerSecond is None
