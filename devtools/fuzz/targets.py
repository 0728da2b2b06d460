"""The fuzz targets: each takes bytes, drives one real entry point and checks its rules.

A target returns when the input was handled within the rules and raises otherwise
(`invariants.Broken` for a broken rule, anything else is an exception the product code let
escape). Targets are pure Python, need no Kafka or Elasticsearch, and are cheap to build:
`TARGETS[name].build()` gives the callable.

- `x_line`: one line of the X API v2 stream (`sources.base.parse_line` + `x_line_parser`).
- `jetstream`: one Jetstream message, as text and as bytes (`JetstreamSource._handle`).
- `replay`: a replay file, plain and gzip (`ReplaySource.records`), and the `LineSplitter`
  fed in small chunks.
- `contract`: the contract's functions and its `Event` model against the job's reading of
  the same bytes.
- `job`: the job's prepare + score pass (`prepare_pandas`, `score_pandas`, `tweet-lr`) on
  one Kafka value per line, in a batch and each alone.
"""

from __future__ import annotations

import gzip
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from prometheus_client import CollectorRegistry

from devtools.fuzz.invariants import (
    LABELS,
    Broken,
    check,
    decode_strict_json,
    finite_in,
    guarded,
    lang_ok,
    same_row,
    strict_utf8,
    time_ok,
    validation_rule,
)
from tweet_sentiment_common import contract

# The producer's default MAX_POST_BYTES (Settings.max_post_bytes).
MAX_POST_BYTES = 65536
INGESTED_AT = "2026-01-02T03:04:05.678Z"
JOB_MODEL = "tweet-lr"
JOB_LANGUAGES = frozenset({"en", "und"})  # the job's default SENTIMENT_LANGUAGES
# The job target's batch: at most this many Kafka values (one per line), so one input
# scores in milliseconds even when each row is also scored alone.
JOB_MAX_ROWS = 16

Target = Callable[[bytes], None]


# --- what a producer source yields ------------------------------------------------------


def check_item(item: object, source: str) -> None:
    """A source's item: a Post that the job reads back byte-exact, a Skipped, or a Rejected
    whose dead-letter record is valid."""
    from tweet_producer import events

    if item is None or isinstance(item, events.Skipped):
        check(item is None or item.reason in contract.SKIP_REASONS, "skip-reason", repr(item))
        return
    if isinstance(item, events.Rejected):
        check_rejected(item, source)
        return
    check(isinstance(item, events.Post), "item-type", type(item).__name__)
    assert isinstance(item, events.Post)
    check_post(item, source)


def check_rejected(item: Any, source: str) -> None:
    from tweet_producer import events

    check(item.reason in contract.PRODUCER_REASONS, "deadletter-reason", item.reason)
    guarded(item.reason, item.error, source)
    value = events.deadletter_value(item, INGESTED_AT)
    doc = decode_strict_json(value, "deadletter-not-utf8-json")
    try:
        contract.ProducerDeadLetter.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise Broken(validation_rule("ProducerDeadLetter", exc), str(exc)[:300]) from None
    check(doc["source"] == source, "deadletter-source", doc["source"])


def check_post(post: Any, source: str) -> None:
    """The event the producer would publish: key and value as `app.py` sends them, read
    back by the job's `prepare_row` and the contract's `Event` model."""
    from sentiment_job.transform import prepare_row
    from tweet_producer import events

    check(post.source == source, "post-source", post.source)
    doc_id = contract.document_id(post.source, post.id)
    check(strict_utf8(doc_id), "id-strict-utf8", repr(post.id[:80]))
    check(len(doc_id.encode("utf-8")) <= contract.MAX_ID_BYTES, "id-too-long", str(len(doc_id)))
    check(lang_ok(post.lang), "post-lang-well-formed", repr(post.lang))
    check(time_ok(post.created_at), "post-created-at-form", repr(post.created_at))
    key = post.key  # what app.py sends as the Kafka key
    check(key == doc_id.encode("utf-8"), "key", repr(key[:80]))
    value = events.event_value(post, INGESTED_AT)
    doc = decode_strict_json(value, "event-not-utf8-json")
    check(doc["text"] == post.text, "event-text-byte-exact", "the event's text is not the post's")
    check(doc["id"] == post.id, "event-id", "the event's id is not the post's")
    try:
        contract.Event.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise Broken(validation_rule("Event", exc), str(exc)[:300]) from None
    row = prepare_row(value)
    check(row["reason"] is None, f"job-rejects-producer-event {row['reason']}", str(row["error"]))
    check(row["text"] == post.text, "job-text-byte-exact", "the job's text is not the post's")
    check(row["id"] == post.id, "job-id", repr(row["id"]))
    check(row["lang"] == post.lang, "job-lang", f"{row['lang']!r} != {post.lang!r}")
    check(row["created_at"] == post.created_at, "job-created-at", f"{row['created_at']} != {post.created_at}")


def _metrics(source: str) -> Any:
    from tweet_producer.metrics import Metrics

    return Metrics(source, registry=CollectorRegistry())


# --- the targets ------------------------------------------------------------------------


def x_line() -> Target:
    from tweet_producer.sources.base import Line, parse_line
    from tweet_producer.sources.xenvelope import x_line_parser

    parse = x_line_parser("x", _metrics("x"))

    def run(data: bytes) -> None:
        # A line as the splitter gives it: no newline (fuzz inputs are shorter than the
        # split limit, so kept whole).
        for line in data.split(b"\n") or [b""]:
            item = parse_line(Line(line, len(line)), "x", MAX_POST_BYTES, parse)
            check_item(item, "x")
            if isinstance(item, contract.Post):
                check_source_text(item, x_text(json.loads(line)))
                check(item.id == json.loads(line)["data"]["id"], "source-id", repr(item.id[:80]))

    return run


def x_text(doc: Any) -> str:
    """The text of an X envelope as X sent it: note_tweet.text when there is one."""
    data = doc["data"]
    note = data.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str) and not contract.is_blank(note["text"]):
        return str(note["text"])
    return str(data["text"])


def check_source_text(post: Any, sent: str) -> None:
    """Byte-exact against the source: the post's text is the one sent (a lone surrogate,
    which has no UTF-8 form, becomes U+FFFD and nothing else changes)."""
    check(post.text == contract.repair_unicode(sent), "source-text-byte-exact", repr(sent[:80]))


def _cursor(source: Any) -> object:
    return source.last_time_us


def jetstream() -> Target:
    from tweet_producer.sources.bluesky import JetstreamSource

    folder = Path(tempfile.mkdtemp(prefix="fuzz-jetstream-"))
    source = JetstreamSource("ws://localhost:1", folder / "cursor", MAX_POST_BYTES, _metrics("bluesky"))

    def one(message: str | bytes) -> None:
        source.last_time_us = None
        item = source._handle(message)
        check_item(item, "bluesky")
        cursor = _cursor(source)  # (a call: mypy would keep the None assigned above)
        # The reconnect cursor goes into `cursor=` of the next URL and the cursor file.
        ok = cursor is None or (type(cursor) is int and cursor > 0)
        check(ok, "cursor-positive-int", repr(cursor)[:80])
        if item is not None and getattr(item, "position", None) is not None:
            check(item.position == cursor, "cursor-position", f"{item.position} != {cursor}")
        if isinstance(item, contract.Post):
            doc = json.loads(message)
            check_source_text(item, doc["commit"]["record"]["text"])
            rkey = doc["commit"]["rkey"]
            check(item.id == f"at://{doc['did']}/app.bsky.feed.post/{rkey}", "source-id", repr(item.id[:80]))

    def run(data: bytes) -> None:
        one(data)  # binary frame
        # A text frame: websockets hands over a str decoded as strict UTF-8.
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return
        one(text)

    return run


def _split_lines(data: bytes, limit: int, chunk: int) -> list[tuple[bytes, int]]:
    from tweet_producer.sources.base import LineSplitter

    splitter = LineSplitter(limit)
    lines = []
    for start in range(0, len(data), chunk):
        lines += splitter.feed(data[start : start + chunk])
    lines += splitter.finish()
    return [(line.data, line.size) for line in lines]


def _expected_lines(data: bytes, limit: int) -> list[tuple[bytes, int]]:
    """The splitter's contract, written plainly: lines on \\n, one trailing \\r dropped,
    at most `limit` bytes kept with the full size reported, no last empty line."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    out = []
    for piece in pieces:
        if len(piece) <= limit and piece.endswith(b"\r"):
            piece = piece[:-1]
        out.append((piece[:limit], len(piece)))
    return out


def replay() -> Target:
    from tweet_producer.sources.replay import GZIP_MAGIC, ReplaySource

    folder = Path(tempfile.mkdtemp(prefix="fuzz-replay-"))
    metrics = _metrics("replay")

    def records(path: Path) -> list[Any]:
        source = ReplaySource(path, rate=0, loop=False, max_post_bytes=MAX_POST_BYTES, metrics=metrics)
        return list(source.records(threading.Event()))

    def run(data: bytes) -> None:
        plain, packed = folder / "posts.jsonl", folder / "posts.jsonl.gz"
        # A plain file that starts with the gzip magic is opened as gzip (by design): a
        # corrupt archive is a broken file, not a broken post, so that case is left out.
        plain.write_bytes(b"\n" + data if data.startswith(GZIP_MAGIC) else data)
        packed.write_bytes(gzip.compress(data, mtime=0))
        items = records(plain)
        for item in items:
            check_item(item, "replay")
        check(records(packed) == items, "gzip-same-items", "the gzip file gave other items")
        # The splitter in small pieces (the source reads 1 MiB chunks, so a file this small
        # never crosses a chunk boundary there).
        limit = 8 + data[0] % 24 if data else 8
        chunk = 1 + (data[-1] % 7 if data else 0)
        got = _split_lines(data, limit, chunk)
        check(
            got == _expected_lines(data, limit), "line-splitter", f"limit {limit}, chunk {chunk}: {got[:3]!r}"
        )

    return run


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _inexpressible(rejected: str) -> bool:
    """Rules a JSON Schema cannot state, so the schema is allowed to accept what they
    refuse: a lone surrogate (a schema sees code points), a timestamp that matches the
    pattern but is no real date-time or leaves years 1-9999 (the model's parse_time)."""
    field, _, kind = rejected.removeprefix("Event-rejects ").partition(" ")
    return kind == "string_unicode" or (field in ("created_at", "ingested_at") and kind == "value_error")


def _fits(source: object, post_id: object) -> bool:
    return not isinstance(source, str) or not isinstance(post_id, str) or contract.id_fits(source, post_id)


def contract_target() -> Target:
    import jsonschema

    from sentiment_job.transform import prepare_row

    def check_string(text: str) -> None:
        lang = contract.normalize_lang(text)
        check(lang_ok(lang), "normalize-lang-well-formed", repr(lang))
        try:
            contract.check_id("x", text)
        except contract.ContractError:
            pass
        else:
            check(strict_utf8(text), "check-id-not-utf8", repr(text[:40]))
            check(len(f"x:{text}".encode()) <= contract.MAX_ID_BYTES, "check-id-too-long", str(len(text)))
        # One time parser for both sides: the job takes a time exactly when parse_time does,
        # and the canonical form is a fixed point.
        moment = contract.parse_time(text)
        check((moment is not None) == prepare_row_time(text), "parse-time-vs-job", repr(text[:40]))
        if moment is not None:
            canonical = contract.canonical_time(text)
            check(time_ok(canonical), "canonical-time-form", repr(canonical))
            check(
                contract.canonical_time(canonical) == canonical, "canonical-time-fixed-point", repr(canonical)
            )

    schema = jsonschema.Draft202012Validator(contract.json_schemas()["event-v1.schema.json"])

    def check_schema_agrees(data: bytes) -> None:
        """The JSON Schema the producer ships says what the model says of the same document
        (both given Python's parse of the bytes: pydantic's own JSON parser differs, e.g. it
        refuses a lone surrogate escape)."""
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            return  # not JSON: nothing for a schema to judge
        if isinstance(doc, dict) and not _fits(doc.get("source"), doc.get("id")):
            return  # the schema can state only a character bound on ids (its description says so)
        try:
            contract.Event.model_validate(doc)
            rejected = ""
        except pydantic.ValidationError as exc:
            rejected = validation_rule("Event", exc)
        errors = sorted(schema.iter_errors(doc), key=lambda e: list(e.path))
        if not rejected and errors:
            where = ".".join(str(p) for p in errors[0].path) or "-"
            raise Broken(f"schema-rejects-model-event {where} {errors[0].validator}", errors[0].message[:200])
        if rejected and not errors and not _inexpressible(rejected):
            raise Broken(f"schema-accepts-but {rejected}", repr(data[:200]))

    def prepare_row_time(text: str) -> bool:
        value = json.dumps(
            {
                "schema_version": 1,
                "id": "1",
                "source": "x",
                "text": "t",
                "created_at": text,
                "ingested_at": text,
            }
        ).encode()
        return prepare_row(value)["reason"] is None

    def run(data: bytes) -> None:
        try:
            event = contract.Event.model_validate_json(data)
        except pydantic.ValidationError:
            event = None
        check_schema_agrees(data)
        if event is not None:
            row = prepare_row(data)
            check(row["reason"] is None, f"job-rejects-contract-event {row['reason']}", str(row["error"]))
            check(row["text"] == event.text, "job-text-byte-exact", "")
            check(row["id"] == event.id, "job-id", "")
            check(row["lang"] == event.lang, "job-lang", f"{row['lang']!r} != {event.lang!r}")
            check(strict_utf8(contract.document_id(event.source, event.id)), "event-id-strict-utf8", "")
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            # Not JSON: the whole input as one string (bad bytes replaced, as a str never
            # holds undecodable bytes).
            doc = data[:4096].decode("utf-8", "replace")
        for text in _strings(doc):
            check_string(text)

    return run


def _job_values(data: bytes) -> list[bytes | None]:
    """One Kafka value per line; an empty line is a tombstone (a null value)."""
    return [line or None for line in data.split(b"\n")[:JOB_MAX_ROWS]]


def _in_fresh_thread(work: Callable[[], None]) -> None:
    """Run `work` at the bottom of a new thread's stack and re-raise what it raised.

    Whether deeply nested JSON hits the recursion limit depends on how deep the stack
    already is; a fresh thread makes that the same under pytest, Hypothesis and atheris,
    so a nesting-depth seed reproduces everywhere."""
    failure: list[BaseException] = []

    def body() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=body, name="fuzz-target")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def job() -> Target:
    import numpy as np
    import pandas as pd

    from sentiment_job.transform import prepare_pandas, score_pandas

    def frame(values: list[bytes | None], first_offset: int) -> pd.DataFrame:
        n = len(values)
        return pd.DataFrame(
            {
                "value": pd.Series(values, dtype=object),
                "topic": ["posts"] * n,
                "partition": np.zeros(n, dtype="int32"),
                "offset": np.arange(first_offset, first_offset + n, dtype="int64"),
                "kafka_timestamp": [INGESTED_AT] * n,
            }
        )

    def rows(values: list[bytes | None], first_offset: int = 0) -> list[dict[str, Any]]:
        scored = score_pandas(prepare_pandas(frame(values, first_offset)), JOB_MODEL, JOB_LANGUAGES)
        return [
            {str(k): (None if v is pd.NA else v) for k, v in r.items()} for r in scored.to_dict("records")
        ]

    def check_row(row: dict[str, Any]) -> None:
        if row["reason"] is not None:
            check(row["reason"] in contract.JOB_REASONS, "job-reason", repr(row["reason"]))
            guarded(row["reason"], row["error"], "job")
            check(isinstance(row["error"], str), "job-error", repr(row["error"]))
            return
        check(row["sentiment"] in LABELS, "job-label", repr(row["sentiment"]))
        if row["sentiment"] != "Unsupported":
            check(finite_in(row["polarity"], -1.0, 1.0), "job-polarity-finite", repr(row["polarity"]))
            check(finite_in(row["confidence"], 0.0, 1.0), "job-confidence-finite", repr(row["confidence"]))
        check(row["source"] in contract.SOURCES, "job-source", repr(row["source"]))
        doc_id = contract.document_id(row["source"], row["id"])
        check(strict_utf8(doc_id), "job-id-strict-utf8", repr(row["id"][:80]))
        check(len(doc_id.encode("utf-8")) <= contract.MAX_ID_BYTES, "job-id-too-long", "")
        check(lang_ok(row["lang"]), "job-lang-well-formed", repr(row["lang"][:40]))
        check(time_ok(row["created_at"]) and time_ok(row["ingested_at"]), "job-time-form", "")
        check(finite_in(row["ingested_at_epoch"], -1e12, 1e12), "job-epoch", repr(row["ingested_at_epoch"]))
        document = {name: row[name] for name in contract.DOCUMENT_FIELDS if name in row}
        document["indexed_at"] = INGESTED_AT
        for name in ("polarity", "subjectivity", "confidence"):
            if isinstance(document[name], float) and document[name] != document[name]:
                document[name] = None  # NaN becomes null on its way through Arrow
        try:
            contract.Document.model_validate(document)
        except pydantic.ValidationError as exc:
            raise Broken(validation_rule("Document", exc), str(exc)[:300]) from None

    def run(data: bytes) -> None:
        _in_fresh_thread(lambda: run_on_this_stack(data))

    def run_on_this_stack(data: bytes) -> None:
        values = _job_values(data)
        batch = rows(values)
        check(len(batch) == len(values), "job-row-count", f"{len(batch)} != {len(values)}")
        for offset, (value, row) in enumerate(zip(values, batch, strict=True)):
            check(row["offset"] == offset, "job-row-order", "")
            check_row(row)
            if len(values) > 1:
                (alone,) = rows([value], offset)
                differs = same_row(alone, row)
                check(differs is None, "job-alone-vs-batch", f"column {differs}")

    return run


@dataclass(frozen=True)
class Spec:
    build: Callable[[], Target]
    what: str


TARGETS: dict[str, Spec] = {
    "x_line": Spec(x_line, "one X API v2 stream line (parse_line + x_line_parser)"),
    "jetstream": Spec(jetstream, "one Jetstream message, text and binary (JetstreamSource._handle)"),
    "replay": Spec(replay, "a replay file, plain and gzip (ReplaySource.records), and the LineSplitter"),
    "contract": Spec(contract_target, "the contract's Event model and functions vs the job's prepare_row"),
    "job": Spec(job, "the job's prepare + score pass (prepare_pandas, score_pandas, tweet-lr)"),
}
