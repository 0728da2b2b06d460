"""Kafka record → validated, cleaned, scored row, in one Python pass per partition.

The JVM only selects the Kafka columns (`source_columns`). `prepare_pandas` then decodes,
parses, validates (with the contract's rules) and cleans (`cleaning.clean_text`) each
record in the Python worker, and `score_pandas` adds the sentiment columns, all inside the
one `mapInPandas` pass the rows take anyway (`batch.run_partition`, which also writes them).
Every row comes out, valid or not; an invalid one carries a `reason` (a short code) and an
`error` (a sentence) and is later written to the dead-letter index instead of failing the
query. Nothing here may raise on bad data.
"""

from __future__ import annotations

import functools
import json
import logging
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tweet_sentiment_common import contract

from .cleaning import clean_text
from .sentiment import score_frame

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

log = logging.getLogger(__name__)

# Everything about the record's shape comes from the contract (one place, shared with the
# producer); what is below is derived from it once, at import, never per row.
SCHEMA_VERSION = contract.SCHEMA_VERSION
SOURCES = contract.SOURCES
# The event fields a document is made of (author_id/url are not indexed, so not read).
EVENT_READ_FIELDS = ("schema_version", *contract.EVENT_FIELDS_INDEXED)
ISO_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"

# Reasons a record is dead-lettered (the `reason` field and the metrics label).
REASONS = contract.JOB_REASONS
# Columns of a document the transform computes (the writer adds indexed_at).
DOC_COLUMNS = tuple(f for f in contract.DOCUMENT_FIELDS if f not in contract.WRITE_TIME_FIELDS)
# Columns of a dead letter the transform computes (the writer adds failed_at).
DEADLETTER_COLUMNS = tuple(f for f in contract.JOB_DEADLETTER_FIELDS if f not in contract.WRITE_TIME_FIELDS)
_KAFKA_DDL = "raw STRING, key STRING, topic STRING, partition INT, offset BIGINT, kafka_timestamp STRING"
# The document columns the transform fills (strings), then the ones scoring adds.
_PREPARED_DOC = tuple(f for f in DOC_COLUMNS if f in contract.EVENT_FIELDS_INDEXED or f == "clean_text")
SCORE_COLUMNS = tuple(f for f in DOC_COLUMNS if f not in _PREPARED_DOC)
# What the analyzer fills (score_frame's columns); the transform adds `model`.
_ANALYZER_COLUMNS = tuple(f for f in SCORE_COLUMNS if f != "model")
# Of those, the text ones (sentiment, sentiment_lang): None until scored, the others NaN.
_TEXT_ANALYZER_COLUMNS = frozenset(
    f
    for f in _ANALYZER_COLUMNS
    if float not in (annotation := contract.Document.model_fields[f].annotation, *typing.get_args(annotation))
)


def _ddl(fields: tuple[str, ...]) -> str:
    """`name TYPE, ...` with the Spark type of each Document field's Python type."""
    types = {str: "STRING", float: "DOUBLE", int: "BIGINT"}

    def spark_type(name: str) -> str:
        annotation = contract.Document.model_fields[name].annotation
        kinds = [a for a in (*typing.get_args(annotation), annotation) if a in types]
        return types[kinds[0]] if kinds else "STRING"

    return ", ".join(f"{name} {spark_type(name)}" for name in fields)


# `op` is `delete` for a deletion event (its `id`/`source` name the post to remove), null for a post.
PREPARED_DDL = (
    f"{_KAFKA_DDL}, {_ddl(_PREPARED_DOC)}, ingested_at_epoch DOUBLE, reason STRING, error STRING, op STRING"
)
DELETE_OP = "delete"
# An account-level deletion: `id` is the account (docs/deletions.md), all its posts go.
DELETE_AUTHOR_OP = "delete_author"
SCORED_DDL = f"{PREPARED_DDL}, {_ddl(SCORE_COLUMNS)}"


# The Kafka columns, selected in the JVM (no parsing there: the one Python pass does it).
SOURCE_DDL = "value BINARY, key STRING, topic STRING, partition INT, offset BIGINT, kafka_timestamp STRING"
SOURCE_COLUMNS = tuple(part.split()[0] for part in SOURCE_DDL.split(", "))


def source_columns(df: DataFrame) -> DataFrame:
    """Kafka-shaped rows (`value` binary or string; `key`, `topic`, `partition`, `offset`,
    `timestamp` when present) → SOURCE_DDL rows, for `prepare_pandas`."""
    # Local: only the Spark plan needs pyspark. The image's Elasticsearch setup hook and
    # `tweet-sentiment stats` run on plain python3, without Spark's python on the path, and
    # reach this module through the sink (tests/spark_job/test_imports.py).
    from pyspark.sql import functions as F

    columns = set(df.columns)

    def kafka(name: str, dtype: str) -> Column:
        return F.col(name).cast(dtype) if name in columns else F.lit(None).cast(dtype)

    return df.select(
        F.col("value").cast("binary").alias("value"),
        kafka("key", "string").alias("key"),
        kafka("topic", "string").alias("topic"),
        kafka("partition", "int").alias("partition"),
        kafka("offset", "bigint").alias("offset"),
        F.date_format(kafka("timestamp", "timestamp"), ISO_FORMAT).alias("kafka_timestamp"),
    )


def _decode(value: bytes | None) -> tuple[str | None, bool, object]:
    """(text, is UTF-8, JSON value or None) of a Kafka value."""
    if value is None:
        return None, True, None
    try:
        raw = value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("utf-8", "replace"), False, None
    if contract.is_blank(raw):
        return raw, True, None
    try:
        return raw, True, json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, too deep, an integer of 4,300+ digits
        return raw, True, None


def prepare_row(value: bytes | None) -> dict[str, Any]:
    """One Kafka value → the prepared columns (PREPARED_DDL minus the Kafka ones). Never raises:
    what no rule expected becomes an `internal_error` row (dead-lettered, counted, alerted on),
    not a failed task that the checkpoint would replay into the same failure."""
    try:
        return _prepare_row(value)
    except Exception as exc:
        log.exception("unexpected error preparing a record; dead-lettered as internal_error")
        raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else None
        return dict.fromkeys(_ROW_FIELDS) | {
            "raw": raw,
            "lang": contract.UNDETERMINED_LANG,
            "reason": "internal_error",
            "error": f"{type(exc).__name__}: {exc}"[:500],
            "op": None,
        }


def _prepare_row(value: bytes | None) -> dict[str, Any]:
    raw, utf8, event = _decode(value)
    if raw is None or contract.is_blank(raw):
        failed: tuple[str, str] = ("bad_json", "the record has no value (empty or a tombstone)")
    elif not utf8:
        failed = ("bad_encoding", "the value is not valid UTF-8")
    elif contract.is_deletion(event):
        return _deletion_row(raw, event)
    else:
        try:
            post, ingested = contract.check_event(event)
        except contract.ContractError as exc:
            failed = (exc.reason, exc.detail)
        else:
            return {
                "raw": raw,
                "id": post.id,
                "source": post.source,
                "text": post.text,
                "clean_text": clean_text(post.text),
                "lang": post.lang,
                "author_id": post.author_id,
                "created_at": post.created_at,
                "ingested_at": contract.format_time(ingested),
                "ingested_at_epoch": ingested.timestamp(),
                "reason": None,
                "error": None,
                "op": None,
            }
    # A dead letter keeps what can be read of the record, for the dead-letter index.
    fields: dict[str, Any] = event if isinstance(event, dict) else {}

    def string(name: str) -> str | None:
        v = fields.get(name)
        return v if isinstance(v, str) else None

    created, ingested_at = contract.canonical_time(fields.get("created_at")), fields.get("ingested_at")
    ingested_moment = contract.parse_time(ingested_at)
    return {
        "raw": raw,
        "id": string("id"),
        "source": string("source"),
        "text": string("text"),
        "clean_text": None,
        "lang": contract.normalize_lang(fields.get("lang")),
        "author_id": string("author_id"),
        "created_at": created,
        "ingested_at": contract.format_time(ingested_moment) if ingested_moment else None,
        "ingested_at_epoch": ingested_moment.timestamp() if ingested_moment else None,
        "reason": failed[0],
        "error": failed[1],
        "op": None,
    }


def _deletion_row(raw: str, event: object) -> dict[str, Any]:
    """A deletion event → a row with `op` = delete naming the post (`source`, `id`), never a
    dead letter: one that names no post (`contract.deletion_target` is None) keeps a null `id`
    and the writer counts it as `invalid`. No text is read or kept."""
    fields: dict[str, Any] = event if isinstance(event, dict) else {}
    author = contract.deletion_author(event)
    if author is not None:
        return dict.fromkeys(_ROW_FIELDS) | {
            "raw": raw,
            "id": author[1],
            "source": author[0],
            "lang": contract.UNDETERMINED_LANG,
            "op": DELETE_AUTHOR_OP,
        }
    target = contract.deletion_target(event)
    return dict.fromkeys(_ROW_FIELDS) | {
        "raw": raw,
        "id": fields["id"] if target else None,
        "source": fields["source"] if target else None,
        "lang": contract.UNDETERMINED_LANG,
        "op": DELETE_OP,
    }


_PREPARED_COLUMNS = tuple(part.split()[0] for part in PREPARED_DDL.split(", "))
_ROW_FIELDS = tuple(
    c for c in _PREPARED_COLUMNS if c not in ("key", "topic", "partition", "offset", "kafka_timestamp")
)


def prepare_pandas(pdf: pd.DataFrame) -> pd.DataFrame:
    """SOURCE_DDL rows → PREPARED_DDL rows: parse, validate, clean (in this Python worker).
    The frame is built in one call from its columns: 1.0 ms of CPU for 15 rows, against 2.4
    ms from records plus five column inserts (see score_pandas)."""
    rows = [prepare_row(v) for v in pdf["value"]]
    columns: dict[str, Any] = {
        name: ([row[name] for row in rows] if rows else np.array([], dtype=object))
        if name in _ROW_FIELDS
        else pdf[name].to_numpy()
        if name in pdf.columns
        else np.full(len(rows), None, dtype=object)
        for name in _PREPARED_COLUMNS
    }
    return pd.DataFrame(columns)


ScoreFn = Callable[..., "pd.DataFrame"]
# The analyzer reads at most this much of a clean text. A post is rarely longer (X: 280
# characters, 25,000 for long posts; Bluesky: 300), and the lexicon analyzers are superlinear
# on some inputs: TextBlob took 4-5 s on "#" * 65536 or "!" * 65536, 15 ms on 2,000 of them.
SCORED_CHARS = 2000


def score_pandas(
    pdf: pd.DataFrame,
    model: str,
    languages: frozenset[str],
    score: ScoreFn | None = None,
    language_source: str | None = None,
) -> pd.DataFrame:
    """Add the score columns (polarity, subjectivity, confidence, sentiment, sentiment_lang, model)
    to prepared rows that have no `reason`; `language_source` is SENTIMENT_LANGUAGE_SOURCE
    (None: the default).

    The analyzer raising on some text must not fail the batch: the frame is then scored row
    by row and only the rows that still fail are marked `sentiment_error` (dead-lettered).

    The columns are filled as arrays and joined to the frame once: at 50 posts/s a batch is a
    dozen rows, and a pandas column insert or `iloc` write per column cost more than scoring
    them (15 rows: 6.2 -> 4.4 ms of CPU, docs/spark-job.md).
    """
    if score is None:
        score = score_frame
        if language_source is not None:
            score = functools.partial(score, language_source=language_source)
    size = len(pdf)
    added: dict[str, npt.NDArray[Any]] = {
        name: np.full(size, None, dtype=object) if name in _TEXT_ANALYZER_COLUMNS else np.full(size, np.nan)
        for name in _ANALYZER_COLUMNS
    }
    reason = pdf["reason"].to_numpy(dtype=object, copy=True)
    error = pdf["error"].to_numpy(dtype=object, copy=True)
    posts = _posts(pdf).to_numpy()
    if posts.any():
        positions = np.flatnonzero(posts)
        texts = pdf["clean_text"].iloc[positions].fillna("").str.slice(0, SCORED_CHARS)
        langs = pdf["lang"].iloc[positions].fillna("und")
        try:
            _put_scores(added, positions, score(texts, langs, model, languages))
        except Exception:  # isolate the row(s) at fault below
            log.warning("scoring %d rows failed; scoring them one by one", len(positions), exc_info=True)
            for pos, t, lang in zip(positions, texts, langs, strict=True):
                try:
                    one = score(pd.Series([t]), pd.Series([lang]), model, languages)
                    _put_scores(added, np.array([pos]), one)
                except Exception as exc:  # one bad post must not fail the batch
                    reason[pos] = "sentiment_error"
                    error[pos] = f"{type(exc).__name__}: {exc}"[:500]
                    posts[pos] = False
    model_column = np.full(size, None, dtype=object)
    model_column[posts] = model
    columns = {name: pdf[name] for name in pdf.columns if name not in added and name != "model"}
    columns["reason"] = pd.Series(reason, index=pdf.index, dtype=object)
    columns["error"] = pd.Series(error, index=pdf.index, dtype=object)
    frame = pd.DataFrame(columns, index=pdf.index)
    scores = pd.DataFrame({**added, "model": model_column}, index=pdf.index)
    return pd.concat([frame, scores], axis=1, copy=False)


def _posts(frame: pd.DataFrame) -> pd.Series:
    """Rows that are posts to score: no `reason`, and not a deletion (`op`; a frame built
    without the column, e.g. by a caller of score_pandas, has none)."""
    posts = frame["reason"].isna()
    return posts & frame["op"].isna() if "op" in frame.columns else posts


def _put_scores(
    added: dict[str, npt.NDArray[Any]], positions: npt.NDArray[np.intp], scores: pd.DataFrame
) -> None:
    if len(scores) != len(positions):
        raise ValueError(f"score_frame returned {len(scores)} rows for {len(positions)} texts")
    for name, column in added.items():
        if column.dtype.kind == "f":
            # An analyzer's None is a missing number (a float column holds NaN, not None).
            column[positions] = scores[name].to_numpy(dtype="float64", na_value=np.nan)
        else:
            column[positions] = scores[name].to_numpy()
