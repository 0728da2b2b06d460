"""The rules every fuzz target checks, and how a failure is named.

A target either returns (the input was handled within the rules) or raises: `Broken` when
the code returned something a rule forbids, any other exception when the code itself raised.
`signature()` turns either into a short, stable name (no line numbers, no input values) so
that the same defect found twice, or found by two engines, is counted once and can be
listed in `known.py`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pydantic

from tweet_sentiment_common import contract

# Packages whose frames name an exception's location (the innermost of ours wins).
_OUR_PACKAGES = ("tweet_producer", "sentiment_job", "tweet_sentiment_common")
# The job's labels (the Document model types `sentiment` as a plain str, so they are listed here).
LABELS = frozenset({"Negative", "Neutral", "Positive", "Unsupported"})


class Broken(AssertionError):
    """An invariant does not hold. `rule` is a short, stable name of the rule (and the
    field or error kind that broke it); `detail` says what was seen."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


def check(condition: object, rule: str, detail: str = "") -> None:
    if not condition:
        raise Broken(rule, detail)


def signature(exc: BaseException) -> str:
    """`broken <rule>` or `<ExceptionType> in <package/module.py>:<function>`: the innermost
    frame in our packages (where the exception escaped the product code), else the
    innermost frame of an installed package (a library raising what it should not)."""
    if isinstance(exc, Broken):
        return f"broken {exc.rule}"
    ours, theirs = "", "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        parts = Path(frame.filename).parts
        for package in _OUR_PACKAGES:
            if package in parts:
                ours = f"{'/'.join(parts[parts.index(package) :])}:{frame.name}"
        if "site-packages" in parts:
            theirs = f"{'/'.join(parts[parts.index('site-packages') + 1 :])}:{frame.name}"
    return f"{type(exc).__name__} in {ours or theirs}"


class LastException(logging.Handler):
    """Keeps the exception of the last record logged with one. The per-record guards of
    the sources and the job log the traceback of what they turn into an `internal_error`
    dead letter; the harness reads it back to name the defect by where it was raised."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.exc: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.exc = record.exc_info[1]


LAST_EXCEPTION = LastException()


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """The sources log every stream-error line and dead letter (millions of lines here):
    inside, our loggers write nowhere; only LAST_EXCEPTION sees their records. Restored on
    exit (pytest's log capture in other tests needs them as they were)."""
    saved = []
    for name in ("tweet_producer", "sentiment_job"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.handlers[:]))
        logger.propagate = False
        logger.handlers[:] = [LAST_EXCEPTION]
    try:
        yield
    finally:
        for logger, propagate, handlers in saved:
            logger.propagate = propagate
            logger.handlers[:] = handlers


def guarded(reason: str, error: object, where: str) -> None:
    """An `internal_error` (or the job's `sentiment_error`) is an exception no rule
    expected that a guard caught: a finding, named by the exception the guard logged."""
    if reason not in ("internal_error", "sentiment_error"):
        return
    exc, LAST_EXCEPTION.exc = LAST_EXCEPTION.exc, None
    raise Broken(f"{where} {reason}: {signature(exc) if exc is not None else error}", str(error)[:300])


def strict_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def lang_ok(lang: object) -> bool:
    """`re.fullmatch`: `$` in the pattern also matches before a final newline."""
    return isinstance(lang, str) and re.fullmatch(contract.LANG_PATTERN.strip("^$"), lang) is not None


# The one form the producer and the job write a timestamp in (UTC, milliseconds, Z).
_CANONICAL_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def time_ok(value: object) -> bool:
    """In the canonical form and a real date-time (the contract's parse_time reads it)."""
    return (
        isinstance(value, str)
        and _CANONICAL_TIME.fullmatch(value) is not None
        and contract.parse_time(value) is not None
    )


def validation_rule(model: str, exc: pydantic.ValidationError) -> str:
    """`<model> rejects <field> <error type>` of the first error: stable across inputs."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "-"
    return f"{model}-rejects {field} {first['type']}"


def decode_strict_json(value: bytes, rule: str) -> dict[str, Any]:
    """Kafka bytes the producer wrote: strict UTF-8, one JSON object."""
    try:
        doc = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Broken(rule, f"{type(exc).__name__}: {exc}") from None
    check(isinstance(doc, dict), rule, "not a JSON object")
    return doc  # type: ignore[no-any-return]


def finite_in(value: object, low: float, high: float) -> bool:
    return isinstance(value, float) and math.isfinite(value) and low <= value <= high


def _null(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def same_row(alone: Mapping[str, Any], batch: Mapping[str, Any]) -> str | None:
    """The first column where two result rows differ, or None. None and NaN are both
    null (which one a column holds depends on the other rows' types; Arrow writes null)."""
    for name, value in batch.items():
        other = alone.get(name)
        if not (_null(value) and _null(other)) and value != other:
            return name
    return None
