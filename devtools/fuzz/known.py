"""Known failures: seeds that reproduce an open defect, and what each breaks in which target.

THE one list of expected fuzz failures. tests/fuzz/test_fuzz.py marks each (seed, target)
pair below `xfail(strict=True)`: it must fail with exactly this signature, and it turns
into a test failure the day it passes, so whoever fixes a defect removes its entries here
(the seed stays in the corpus as a regression seed). The Hypothesis budget runs tolerate
these signatures, and only these, in the targets listed, while they are here.

The `defect` is the number in issue 16 ("Defects found by fuzzing the parsers") or NEW.
docs/reliability.md (## Fuzzing) has the table of findings.
"""

from __future__ import annotations

from dataclasses import dataclass

OVERFLOW = "OverflowError in tweet_sentiment_common/contract.py:format_time"
BIG_INT = "ValueError in tweet_producer/events.py:decode_json"
MICROS = "ValueError in tweet_producer/events.py:time_from_micros"
MICROS_OVERFLOW = "OverflowError in tweet_producer/events.py:time_from_micros"
RECURSION = "RecursionError in sentiment_job/transform.py:_json"
SURROGATE_ID = "broken id-strict-utf8"
SURROGATE_ID_FITS = "broken id-fits-not-utf8"
SURROGATE_JOB_ID = "broken job-id-strict-utf8"
SURROGATE_TEXT = "broken event-text-byte-exact"
LANG_NEWLINE = "broken post-lang-well-formed"
LANG_NORMALIZE = "broken normalize-lang-well-formed"
JOB_LANG = "broken job-lang-well-formed"
CURSOR = "broken cursor-positive-int"
CONTRACT_TIME = "broken job-rejects-contract-event bad_value"
CONTRACT_TIME_JOB = "broken contract-time-job-invalid"
SCHEMA_SURROGATE = "broken schema-accepts-but Event-rejects id string_unicode"
SCHEMA_LANG = "broken schema-accepts-but Event-rejects lang string_pattern_mismatch"
CONTRACT_BLANK = "broken job-rejects-contract-event missing_field"
AUTHOR_NULL = "TypeError in pydantic/_internal/_validators.py:min_length_validator"


@dataclass(frozen=True)
class Known:
    defect: str
    what: str
    fails: dict[str, str]  # target -> signature


_X_OVERFLOW = {"x_line": OVERFLOW, "replay": OVERFLOW, "contract": OVERFLOW}
_X_SURROGATE = {"x_line": SURROGATE_ID, "replay": SURROGATE_ID, "contract": SURROGATE_ID_FITS}
_BIG_INT = {"x_line": BIG_INT, "jetstream": BIG_INT, "replay": BIG_INT}

KNOWN: dict[str, Known] = {
    # 1: a timestamp that parses but overflows when converted to UTC.
    "x_line/created-at-overflow-max.json": Known("1", "X created_at 9999-12-31T23:59:59-01:00", _X_OVERFLOW),
    "x_line/created-at-overflow-min.json": Known("1", "X created_at 0001-01-01T00:00:00+01:00", _X_OVERFLOW),
    "replay/created-at-overflow.jsonl": Known(
        "1", "a replay line with that created_at", {"x_line": OVERFLOW, "replay": OVERFLOW}
    ),
    "jetstream/created-at-overflow-max.json": Known(
        "1", "Bluesky createdAt 9999-12-31T23:59:59-01:00", {"jetstream": OVERFLOW, "contract": OVERFLOW}
    ),
    "jetstream/created-at-overflow-min.json": Known(
        "1", "Bluesky createdAt 0001-01-01T00:00:00+01:00", {"jetstream": OVERFLOW, "contract": OVERFLOW}
    ),
    "contract/time-overflow.json": Known(
        "1", "contract.format_time of 9999-12-31T23:59:59-01:00", {"contract": OVERFLOW}
    ),
    # 2: the same timestamps in a Kafka record stop the job.
    "job/created-at-overflow.json": Known(
        "2", "event created_at 9999-12-31T23:59:59-01:00", {"job": OVERFLOW, "contract": OVERFLOW}
    ),
    "job/ingested-at-overflow.json": Known(
        "2", "event ingested_at 0001-01-01T00:00:00+01:00", {"job": OVERFLOW, "contract": OVERFLOW}
    ),
    # 3: a relay time_us of 10^18 or more when createdAt is unusable.
    "jetstream/time-us-huge.json": Known(
        "3", "time_us 10**18 and createdAt 'not a time'", {"jetstream": MICROS}
    ),
    "jetstream/time-us-overflow.json": Known(
        "3", "time_us 10**29 and no createdAt", {"jetstream": MICROS_OVERFLOW}
    ),
    # 4: a lone surrogate in an id passes id_fits and has no UTF-8 form (the Kafka key).
    "x_line/id-lone-surrogate-escape.json": Known("4", 'X data.id "1\\ud800"', _X_SURROGATE),
    "x_line/id-lone-surrogate-raw.bin": Known("4", "X data.id with the raw bytes ED A0 80", _X_SURROGATE),
    "jetstream/rkey-lone-surrogate.json": Known(
        "4", 'Bluesky rkey "3k\\ud800"', {"jetstream": SURROGATE_ID, "contract": SURROGATE_ID_FITS}
    ),
    "contract/id-lone-surrogate.json": Known(
        "4",
        'event id "\\ud800" (the job indexes it)',
        {"contract": SCHEMA_SURROGATE, "job": SURROGATE_JOB_ID},
    ),
    "job/id-lone-surrogate.json": Known(
        "4",
        'event id "\\ud800" (the job indexes it)',
        {"contract": SCHEMA_SURROGATE, "job": SURROGATE_JOB_ID},
    ),
    # NEW (the text side of 4): a lone surrogate in a text is replaced by "?" on publish,
    # so the published text is not the source's (and id_fits calls the text an id that fits).
    "x_line/text-lone-surrogate.json": Known(
        "NEW",
        'X text "hi \\udc80"',
        {"x_line": SURROGATE_TEXT, "replay": SURROGATE_TEXT, "contract": SURROGATE_ID_FITS},
    ),
    # 5: an integer of more than 4,300 digits anywhere in a line.
    "x_line/huge-integer.json": Known("5", "a 4,301-digit number in an X line", _BIG_INT),
    "jetstream/huge-integer.json": Known("5", "a 4,301-digit number in a Jetstream event", _BIG_INT),
    "replay/huge-integer.jsonl": Known(
        "5", "a 4,301-digit number in a replay line", {"x_line": BIG_INT, "replay": BIG_INT}
    ),
    # 6: "en\n" passes normalize_lang ($ matches before a final newline); the job stores it.
    "x_line/lang-newline.json": Known(
        "6", 'X lang "en\\n"', {"x_line": LANG_NEWLINE, "replay": LANG_NEWLINE, "contract": LANG_NORMALIZE}
    ),
    "jetstream/lang-newline.json": Known(
        "6", 'Bluesky langs ["en\\n"]', {"jetstream": LANG_NEWLINE, "contract": LANG_NORMALIZE}
    ),
    "contract/lang-newline.json": Known("6", 'normalize_lang("en\\n")', {"contract": LANG_NORMALIZE}),
    "job/lang-newline.json": Known(
        "6", 'event lang "en\\n" indexed as is', {"job": JOB_LANG, "contract": SCHEMA_LANG}
    ),
    # 6, wider: the job checks only that lang is a string, so any tag is indexed.
    "job/lang-malformed.json": Known("6", 'event lang "!!" indexed as is', {"job": JOB_LANG}),
    # 7: an error message's json.dumps of a field nested just under json.loads's limit.
    "job/deep-schema-version.jsonl": Known(
        "7", "schema_version nested 982..997 levels deep", {"job": RECURSION}
    ),
    # 8: TIME_PATTERN accepts impossible times, which the job dead-letters.
    "contract/time-impossible-second.json": Known(
        "8", "an Event with created_at T10:00:80Z", {"contract": CONTRACT_TIME}
    ),
    "contract/time-impossible-month.json": Known(
        "8", "the time 2024-00-01T00:00:00Z", {"contract": CONTRACT_TIME_JOB}
    ),
    # NEW: the contract's Event model raises TypeError, not a ValidationError, on
    # "author_id": null (min_length applied to the None branch of `str | None`).
    "contract/author-id-null.json": Known(
        "NEW", 'an event with "author_id": null', {"contract": AUTHOR_NULL}
    ),
    # NEW (the kind of 8): the Event model takes a blank text (min_length=1), the job
    # dead-letters it as missing_field: contract-valid and job-invalid.
    "contract/text-blank.json": Known("NEW", 'an event with "text": " "', {"contract": CONTRACT_BLANK}),
    # 9: the reconnect cursor is set from any integer time_us before it is validated.
    "jetstream/time-us-true.json": Known("9", "time_us true", {"jetstream": CURSOR}),
    "jetstream/time-us-negative.json": Known("9", "time_us -5", {"jetstream": CURSOR}),
}


def tolerated(target: str) -> frozenset[str]:
    """The signatures a budget run of `target` may meet while their seeds are listed."""
    return frozenset(sig for known in KNOWN.values() for t, sig in known.fails.items() if t == target)
