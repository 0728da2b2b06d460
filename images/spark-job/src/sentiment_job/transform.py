"""Kafka record → validated, cleaned, scored row. Spark expressions plus one pandas step.

`prepare` runs entirely in the JVM: UTF-8 check, `from_json` with the explicit event v1
schema, validation, timestamp parsing and text cleaning. Every row comes out, valid or
not; an invalid one carries a `reason` (a short code) and an `error` (a sentence) and is
later written to the dead-letter index instead of failing the query. `score_pandas` adds
the sentiment columns to a pandas frame of prepared rows (used by the job's writer and by
`enrich`). Nothing here may raise on bad data: only `try_*` functions touch input values,
so ANSI mode (Spark 4's default) cannot turn a bad post into a failed batch.

`enrich(df, settings)` is the whole transform on a DataFrame with a `value` column and no
Kafka, for the benchmark, the demo and the tests.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from tweet_sentiment_common import contract

from .settings import Settings

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column, DataFrame

log = logging.getLogger(__name__)

# Everything about the record's shape comes from the contract (one place, shared with the
# producer); what is below is derived from it once, at import, never per row.
SCHEMA_VERSION = contract.SCHEMA_VERSION
SOURCES = contract.SOURCES
# `<source>:<id>` is the document _id, and Elasticsearch caps _id at 512 bytes.
MAX_ID_BYTES = contract.MAX_DOC_ID_BYTES
CORRUPT = "_corrupt_record"
# The event fields a document is made of, every one as VARIANT, so a field of the wrong JSON
# type (an id that is a number, a text that is an object) is seen and rejected instead of
# silently coerced to a string, which is what a STRING field in from_json does.
# author_id/url are not indexed, so not read.
EVENT_READ_FIELDS = ("schema_version", *contract.EVENT_FIELDS_INDEXED)
EVENT_SCHEMA_DDL = ", ".join(f"{name} VARIANT" for name in EVENT_READ_FIELDS) + f", {CORRUPT} STRING"
ISO_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"

# Reasons a record is dead-lettered (the `reason` field and the metrics label).
REASONS = contract.JOB_REASONS
# Columns of a document the transform computes (the writer adds indexed_at).
DOC_COLUMNS = tuple(f for f in contract.DOCUMENT_FIELDS if f not in contract.WRITE_TIME_FIELDS)
# Columns of a dead letter the transform computes (the writer adds failed_at).
DEADLETTER_COLUMNS = tuple(f for f in contract.JOB_DEADLETTER_FIELDS if f not in contract.WRITE_TIME_FIELDS)
_KAFKA_DDL = "raw STRING, topic STRING, partition INT, offset BIGINT, kafka_timestamp STRING"
# The document columns the transform fills (strings), then the ones scoring adds.
_PREPARED_DOC = tuple(f for f in DOC_COLUMNS if f in contract.EVENT_FIELDS_INDEXED or f == "clean_text")
SCORE_COLUMNS = tuple(f for f in DOC_COLUMNS if f not in _PREPARED_DOC)
# What the analyzer fills (score_frame's columns); the transform adds `model`.
_ANALYZER_COLUMNS = tuple(f for f in SCORE_COLUMNS if f != "model")


def _ddl(fields: tuple[str, ...]) -> str:
    """`name TYPE, ...` with the Spark type of each Document field's Python type."""
    types = {str: "STRING", float: "DOUBLE", int: "BIGINT"}

    def spark_type(name: str) -> str:
        annotation = contract.Document.model_fields[name].annotation
        kinds = [a for a in (*typing.get_args(annotation), annotation) if a in types]
        return types[kinds[0]] if kinds else "STRING"

    return ", ".join(f"{name} {spark_type(name)}" for name in fields)


PREPARED_DDL = f"{_KAFKA_DDL}, {_ddl(_PREPARED_DOC)}, ingested_at_epoch DOUBLE, reason STRING, error STRING"
SCORED_DDL = f"{PREPARED_DDL}, {_ddl(SCORE_COLUMNS)}"


def _type_of(v: Column) -> Column:
    from pyspark.sql import functions as F

    return F.coalesce(F.schema_of_variant(v), F.lit("nothing"))


def _string(v: Column) -> Column:
    """The field as a string if it is a JSON string, else null."""
    from pyspark.sql import functions as F

    return F.when(F.schema_of_variant(v) == "STRING", F.try_variant_get(v, "$", "string"))


def _json(v: Column) -> Column:
    """The field as JSON text (for error messages), truncated."""
    from pyspark.sql import functions as F

    return F.coalesce(F.substring(F.to_json(v), 1, 80), F.lit("nothing"))


def _blank(text: Column) -> Column:
    """Null, empty or only whitespace (Unicode-aware: NBSP, ideographic space...)."""
    return text.isNull() | ~text.rlike("(?U)\\S")


def _iso(ts: Column) -> Column:
    from pyspark.sql import functions as F

    return F.date_format(ts, ISO_FORMAT)


def prepare(df: DataFrame) -> DataFrame:
    """Kafka-shaped rows (`value` binary or string; `topic`, `partition`, `offset`,
    `timestamp` when present) → PREPARED_DDL rows, invalid ones with a `reason`."""
    from pyspark.sql import functions as F

    from .cleaning import clean_text_column

    columns = set(df.columns)

    def kafka(name: str, dtype: str) -> Column:
        return F.col(name).cast(dtype) if name in columns else F.lit(None).cast(dtype)

    value = F.col("value").cast("string")
    raw = F.make_valid_utf8(value)
    base = df.select(
        raw.alias("raw"),
        F.is_valid_utf8(value).alias("_utf8"),
        kafka("topic", "string").alias("topic"),
        kafka("partition", "int").alias("partition"),
        kafka("offset", "bigint").alias("offset"),
        _iso(kafka("timestamp", "timestamp")).alias("kafka_timestamp"),
    )
    event = F.from_json(F.col("raw"), EVENT_SCHEMA_DDL, {"columnNameOfCorruptRecord": CORRUPT})
    parsed = base.withColumn("e", event)
    e = {name: F.col(f"e.{name}") for name in ("schema_version", "id", "source", "text", "lang")}
    post_id, source, text = _string(e["id"]), _string(e["source"]), _string(e["text"])
    lang_given = F.schema_of_variant(e["lang"]).isNotNull() & (_type_of(e["lang"]) != "VOID")
    created = F.try_to_timestamp(_string(F.col("e.created_at")))
    ingested = F.try_to_timestamp(_string(F.col("e.ingested_at")))

    def absent(v: Column) -> Column:
        return _type_of(v).isin("nothing", "VOID")

    def not_a_string(v: Column) -> Column:
        return ~absent(v) & (_type_of(v) != "STRING")

    def required_string(name: str, value: Column) -> list[tuple[Column, str, Column]]:
        """missing_field (absent, null, blank) then wrong_type (not a JSON string)."""
        v = F.col(f"e.{name}")
        return [
            (
                absent(v) | (~not_a_string(v) & _blank(value)),
                "missing_field",
                F.lit(f"{name} is missing or blank"),
            ),
            (
                not_a_string(v),
                "wrong_type",
                F.concat(F.lit(f"{name} must be a string, got "), _json(v)),
            ),
        ]

    def timestamp(name: str, parsed: Column) -> list[tuple[Column, str, Column]]:
        v = F.col(f"e.{name}")
        return [
            *required_string(name, _string(v)),
            (
                parsed.isNull(),
                "bad_value",
                F.concat(F.lit(f"{name} must be an RFC 3339 timestamp, got "), _json(v)),
            ),
        ]

    # Reason codes: contract.JOB_REASONS (the one vocabulary shared with the producer).
    checks: list[tuple[Column, str, Column]] = [
        (_blank(F.col("raw")), "bad_json", F.lit("the record has no value (empty or a tombstone)")),
        (~F.col("_utf8"), "bad_encoding", F.lit("the value is not valid UTF-8")),
        (
            F.col("e").isNull() | F.col(f"e.{CORRUPT}").isNotNull(),
            "bad_json",
            F.lit("the value is not a JSON object"),
        ),
        (
            (_type_of(e["schema_version"]) != "BIGINT")
            | (F.try_variant_get(e["schema_version"], "$", "bigint") != SCHEMA_VERSION),
            "unsupported_schema_version",
            F.concat(F.lit(f"schema_version must be {SCHEMA_VERSION}, got "), _json(e["schema_version"])),
        ),
        *required_string("id", post_id),
        *required_string("source", source),
        (
            ~source.isin(*SOURCES),
            "bad_value",
            F.concat(F.lit(f"source must be one of {', '.join(SOURCES)}, got "), _json(e["source"])),
        ),
        (
            F.octet_length(F.concat(source, F.lit(":"), post_id)) > MAX_ID_BYTES,
            "bad_value",
            F.lit(f"<source>:<id> is longer than {MAX_ID_BYTES} UTF-8 bytes"),
        ),
        *required_string("text", text),
        (
            lang_given & _string(e["lang"]).isNull(),
            "wrong_type",
            F.concat(F.lit("lang must be a string, got "), _json(e["lang"])),
        ),
        *timestamp("created_at", created),
        *timestamp("ingested_at", ingested),
    ]
    reason: Any = F
    error: Any = F
    for failed, code, message in checks:
        reason = reason.when(failed, F.lit(code))
        error = error.when(failed, message)

    lang = F.coalesce(F.nullif(F.trim(_string(e["lang"])), F.lit("")), F.lit("und"))
    enriched = parsed.select(
        "raw",
        "topic",
        "partition",
        "offset",
        "kafka_timestamp",
        post_id.alias("id"),
        source.alias("source"),
        text.alias("text"),
        lang.alias("lang"),
        _iso(created).alias("created_at"),
        _iso(ingested).alias("ingested_at"),
        (F.unix_micros(ingested) / F.lit(1_000_000.0)).alias("ingested_at_epoch"),
        reason.alias("reason"),
        error.alias("error"),
    )
    return enriched.select(
        "raw",
        "topic",
        "partition",
        "offset",
        "kafka_timestamp",
        "id",
        "source",
        "text",
        F.when(F.col("reason").isNull(), clean_text_column(F.col("text"))).alias("clean_text"),
        "lang",
        "created_at",
        "ingested_at",
        "ingested_at_epoch",
        "reason",
        "error",
    )


ScoreFn = Callable[..., "pd.DataFrame"]


def _default_score_fn() -> ScoreFn:
    from .sentiment import score_frame

    return score_frame


def score_pandas(
    pdf: pd.DataFrame, model: str, languages: frozenset[str], score: ScoreFn | None = None
) -> pd.DataFrame:
    """Add the score columns (polarity, subjectivity, confidence, sentiment, model) to prepared
    rows that have no `reason`.

    The analyzer raising on some text must not fail the batch: the frame is then scored row
    by row and only the rows that still fail are marked `sentiment_error` (dead-lettered).
    """
    import numpy as np
    import pandas as pd

    score = score or _default_score_fn()
    out = pdf.copy()
    for name in _ANALYZER_COLUMNS:
        out[name] = None if name == "sentiment" else np.nan
    out["model"] = None
    ok = out["reason"].isna().to_numpy()
    if not ok.any():
        return out
    positions = np.flatnonzero(ok)
    texts = out["clean_text"].iloc[positions].fillna("")
    langs = out["lang"].iloc[positions].fillna("und")
    try:
        _put_scores(out, positions, score(texts, langs, model, languages))
    except Exception:  # isolate the row(s) at fault below
        log.warning("scoring %d rows failed; scoring them one by one", len(positions), exc_info=True)
        for pos, t, lang in zip(positions, texts, langs, strict=True):
            try:
                one = score(pd.Series([t]), pd.Series([lang]), model, languages)
                _put_scores(out, np.array([pos]), one)
            except Exception as exc:  # one bad post must not fail the batch
                out.iloc[pos, _column(out, "reason")] = "sentiment_error"
                out.iloc[pos, _column(out, "error")] = f"{type(exc).__name__}: {exc}"[:500]
    scored = out["reason"].isna()
    out.loc[scored, "model"] = model
    return out


def _put_scores(out: pd.DataFrame, positions: Any, scores: pd.DataFrame) -> None:
    if len(scores) != len(positions):
        raise ValueError(f"score_frame returned {len(scores)} rows for {len(positions)} texts")
    for name in _ANALYZER_COLUMNS:
        out.iloc[positions, _column(out, name)] = scores[name].to_numpy()


def _column(out: pd.DataFrame, name: str) -> int:
    """The position of column `name`: an int, as the frame's column names are unique."""
    return typing.cast(int, out.columns.get_loc(name))


def score_batches(
    frames: Iterable[pd.DataFrame], model: str, languages: frozenset[str]
) -> Iterator[pd.DataFrame]:
    for pdf in frames:
        yield score_pandas(pdf, model, languages)


def score(prepared: DataFrame, settings: Settings) -> DataFrame:
    """mapInPandas over prepared rows: SCORED_DDL rows (the analyzer is cached per worker)."""
    model, languages = settings.sentiment_model, settings.sentiment_languages
    return prepared.mapInPandas(lambda frames: score_batches(frames, model, languages), SCORED_DDL)


def enrich(df: DataFrame, settings: Settings) -> tuple[DataFrame, DataFrame]:
    """The job's transform without Kafka or Elasticsearch: (documents, dead letters).

    `df` needs a `value` column (string or binary: one event v1 JSON each) and may have
    the Kafka columns `topic`, `partition`, `offset`, `timestamp`. Documents have the index
    fields except `indexed_at` (set when written); dead letters the dead-letter fields except
    `failed_at`. Both come from one scored frame: cache it if you consume both.
    """
    from pyspark.sql import functions as F

    scored = score(prepare(df), settings)
    docs = scored.where(F.col("reason").isNull()).select(*DOC_COLUMNS)
    dead = scored.where(F.col("reason").isNotNull()).select(*DEADLETTER_COLUMNS)
    return docs, dead
