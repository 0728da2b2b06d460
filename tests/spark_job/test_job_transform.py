"""The job's pass on small DataFrames: the Spark-side plan (`transform.source_columns`) in a
local Spark, then the per-partition pass (`batch.run_partition`: parsing, validation,
dead-letter reasons, cleaning, scoring, the writer's documents and dead letters) into an
in-memory writer: the code the job runs on each micro-batch, without Elasticsearch."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd
import pytest
from spark_job_helpers import event

from sentiment_job.batch import run_partition
from sentiment_job.settings import Settings
from sentiment_job.sink import MemoryWriter
from sentiment_job.transform import REASONS, score_pandas, source_columns

pytestmark = pytest.mark.spark

SETTINGS = Settings(checkpoint_location="unused")


def run_pass(df: Any, settings: Settings = SETTINGS) -> MemoryWriter:
    """`df` (Kafka-shaped rows) through the job's plan and pass; what it wrote, in memory."""
    pdf = source_columns(df).toPandas()
    # Arrow (mapInPandas) hands the worker `bytes`; toPandas without Arrow gives bytearray.
    pdf["value"] = [None if v is None else bytes(v) for v in pdf["value"]]
    writer = MemoryWriter(settings)
    run_partition([pdf], settings, writer)
    return writer


# raw value → expected dead-letter reason (the contract's one vocabulary, shared with the producer)
INVALID: dict[Any, str] = {
    "": "bad_json",
    "   ": "bad_json",
    "not json": "bad_json",
    "[1, 2]": "bad_json",
    '"a string"': "bad_json",
    '{"unterminated": ': "bad_json",
    "{}": "unsupported_schema_version",
    json.dumps(event("a", schema_version=2)): "unsupported_schema_version",
    json.dumps(event("b", schema_version="1")): "unsupported_schema_version",
    json.dumps(event("c", schema_version=None)): "unsupported_schema_version",
    json.dumps(event(123)): "wrong_type",  # type: ignore[arg-type]
    json.dumps(event("")): "missing_field",
    json.dumps(event("d", id=None)): "missing_field",
    json.dumps(event("x" * 600)): "bad_value",  # `<source>:<id>` over Elasticsearch's 512 bytes
    # 400 x é: 400 characters but 800 bytes; the producer rejects it too (tests/test_contract.py).
    json.dumps(event("é" * 400), ensure_ascii=False): "bad_value",
    json.dumps(event("e", source="tiktok")): "bad_value",
    json.dumps(event("f", source=None)): "missing_field",
    json.dumps(event("g", text="")): "missing_field",
    json.dumps(event("h", text="  \n ")): "missing_field",
    json.dumps(event("i", text={"nested": "object"})): "wrong_type",
    json.dumps(event("j", text=None)): "missing_field",
    json.dumps(event("k", lang=["en"])): "wrong_type",
    json.dumps(event("l", created_at="yesterday")): "bad_value",
    json.dumps(event("m", created_at=None)): "missing_field",
    json.dumps(event("n", created_at=1700000000)): "wrong_type",
    json.dumps(event("o", ingested_at="2026-13-45T99:00:00Z")): "bad_value",
}
VALID = [
    event("v1", "I love this, what a wonderful day"),
    event("v2", "This is the worst, I hate it", lang="en-GB"),
    event("v3", "Ceci est magnifique", lang="fr"),
    event("v4", "RT @someone: &amp; plain words here https://t.co/abc #tagged", lang=None),
    event("v5", "ok", source="bluesky", created_at="2026-01-02T03:04:05+02:00"),
    # `x:` + 254 x é is 510 bytes: fits the 512-byte _id.
    event("é" * 254, "fits in 512 bytes", source="x"),
]


def test_every_invalid_record_gets_its_reason_and_valid_ones_none(spark: Any) -> None:
    rows = [(raw,) for raw in INVALID] + [(None,)] + [(json.dumps(v),) for v in VALID]
    out = run_pass(spark.createDataFrame(rows, "value string"))
    by_raw = {d["raw"]: d for d in out.deadletters}
    assert len(by_raw) == len(out.deadletters) == len(INVALID) + 1
    for raw, reason in INVALID.items():
        assert by_raw[raw]["reason"] == reason, (raw, by_raw[raw]["error"])
        assert by_raw[raw]["error"], raw
    assert by_raw[None]["reason"] == "bad_json"
    assert out.stats.deadlettered == Counter([*INVALID.values(), "bad_json"])
    assert set(out.stats.deadlettered) <= set(REASONS)
    valid = {d["id"]: d for d in out.documents}
    assert set(valid) == {"v1", "v2", "v3", "v4", "v5", "é" * 254}
    # Timestamps normalised to UTC with milliseconds; the offset form is converted.
    assert valid["v1"]["created_at"] == "2026-01-02T03:04:05.678Z"
    assert valid["v5"]["created_at"] == "2026-01-02T01:04:05.000Z"
    assert valid["v1"]["ingested_at"] == "2026-01-02T03:04:06.000Z"
    # A missing lang is "und"; tags keep their case.
    assert valid["v4"]["lang"] == "und"
    assert valid["v2"]["lang"] == "en-GB"
    # Cleaning runs in the Python worker (cleaning.clean_text, the one implementation).
    assert valid["v4"]["clean_text"] == "& plain words here tagged"


def test_kafka_coordinates_and_binary_values(spark: Any) -> None:
    df = spark.createDataFrame(
        [
            (b"\xff\xfe not utf-8", "posts", 2, 40, "2026-01-02 03:04:06.5"),
            (json.dumps(event("z")).encode(), "posts", 1, 7, "2026-01-02 03:04:07"),
        ],
        "value binary, topic string, partition int, offset long, timestamp string",
    ).selectExpr("value", "topic", "partition", "offset", "cast(timestamp as timestamp) as timestamp")
    out = run_pass(df)
    (dead,) = out.deadletters
    assert dead["reason"] == "bad_encoding"
    assert (dead["topic"], dead["partition"], dead["offset"]) == ("posts", 2, 40)
    assert dead["kafka_timestamp"] == "2026-01-02T03:04:06.500Z"
    (doc,) = out.documents
    assert doc["id"] == "z"


def test_the_pass_scores_valid_posts_and_dead_letters_the_rest(spark: Any) -> None:
    values = [json.dumps(v) for v in VALID] + ["not json", json.dumps(event("dup"))] * 2
    out = run_pass(spark.createDataFrame([(v,) for v in values], "value string"))
    docs = {d["id"]: d for d in out.documents}
    assert set(docs) == {"v1", "v2", "v3", "v4", "v5", "é" * 254, "dup"}
    assert [d["reason"] for d in out.deadletters] == ["bad_json", "bad_json"]
    assert sum(out.stats.indexed.values()) == len(out.documents) == len(VALID) + 2
    assert set(out.stats.phase_seconds) == {"rows in", "prepare", "score", "bulk"}
    assert docs["v1"]["sentiment"] == "Positive"
    assert docs["v1"]["polarity"] > 0
    assert docs["v2"]["sentiment"] == "Negative"
    assert docs["v2"]["polarity"] < 0
    # French is scored by multi-lr's French model (it was Unsupported with the English-only tweet-lr).
    assert docs["v3"]["sentiment"] in ("Negative", "Neutral", "Positive")
    assert docs["v3"]["polarity"] is not None
    assert docs["v3"]["subjectivity"] is None
    assert [docs[i]["sentiment_lang"] for i in ("v1", "v2", "v3", "v5")] == ["en", "en", "fr", "en"]
    assert docs["v4"]["sentiment_lang"]  # untagged: the identifier's language
    assert all(d["model"] == "multi-lr" for d in docs.values())
    assert all(d["subjectivity"] is None for d in docs.values())
    assert all(0.0 <= d["confidence"] <= 1.0 for d in docs.values() if d["confidence"] is not None)
    assert all(d["indexed_at"] for d in docs.values())


def test_vader_model(spark: Any) -> None:
    settings = Settings(checkpoint_location="unused", sentiment_model="vader")
    out = run_pass(
        spark.createDataFrame([(json.dumps(event("q", "this is awful :(")),)], "value string"), settings
    )
    (doc,) = out.documents
    assert (doc["model"], doc["sentiment"]) == ("vader", "Negative")
    assert doc["subjectivity"] is None  # VADER has no subjectivity
    assert doc["confidence"] is None  # nor a probability


def test_an_analyzer_failure_dead_letters_only_the_post_at_fault() -> None:
    def fragile(texts: pd.Series, langs: pd.Series, model: str, languages: frozenset[str]) -> pd.DataFrame:
        if any("boom" in t for t in texts):
            raise RuntimeError("analyzer crashed")
        return pd.DataFrame(
            {
                "polarity": 0.5,
                "subjectivity": 0.5,
                "confidence": None,
                "sentiment": "Positive",
                "sentiment_lang": "en",
            },
            index=texts.index,
        )

    pdf = pd.DataFrame(
        {
            "clean_text": ["fine", "boom", "also fine", None],
            "lang": ["en", "en", "en", None],
            "reason": [None, None, None, "bad_json"],
            "error": [None, None, None, "not JSON"],
        }
    )
    out = score_pandas(pdf, "textblob", frozenset({"en"}), score=fragile)
    assert out["reason"].tolist() == [None, "sentiment_error", None, "bad_json"]
    assert "analyzer crashed" in out["error"][1]
    assert out["sentiment"].tolist()[::2] == ["Positive", "Positive"]
    assert out["model"].tolist() == ["textblob", None, "textblob", None]
