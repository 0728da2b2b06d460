"""Hypothesis strategies that write the fuzz targets' inputs (bytes, as the targets take).

Three kinds of input per target, mixed: a seed of the target's corpus with random byte
edits (near-valid input reaches deep code), a structured record of the target's shape whose
fields are drawn from hostile values (timestamps that overflow, lone surrogates, huge
integers, deep nesting, tags with a newline...), and plain random bytes.

The records are serialised by `_dumps` rather than `json.dumps`, so they can hold what
Python's encoder refuses or never writes: integers of more than 4,300 digits, raw
(unescaped) lone surrogates, nesting of any depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# --- hostile leaves -----------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is (a number json.dumps would refuse, a deep array)."""

    text: str


TIMES = (
    "2024-05-01T12:00:00.000Z",
    "2024-05-01T12:00:00Z",
    "2024-05-01t12:00:00.5z",
    "2024-05-01T14:00:00+02:00",
    "2024-05-01T12:00:00.123456789Z",
    "2024-05-01 12:00:00Z",
    "2024-05-01T12:00:00",
    "2024-05-01",
    "20240501T120000Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00Z",
    "2024-02-30T12:00:00Z",
    "2024-05-01T10:00:80Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T12:00:00+24:00",
    "2024-05-01T12:00:00.000Z\n",
    " 2024-05-01T12:00:00Z",
)
LANGS = (
    "en",
    "pt-BR",
    "und",
    "qme",
    "zxx",
    "en\n",
    "EN",
    "e",
    "en-",
    "x-private",
    "!!",
    "",
    " en ",
    "en-GB-oed",
)
STRINGS = (
    "",
    " ",
    "\n",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "😀",
    "é",
    "\ud800",
    "\udfff",
    "\x00",
    "a" * 600,
    "é" * 300,
    "#" * 2000,
    "&amp;&lt;&gt;",
    "RT @user: https://t.co/abc #tag",
    "9" * 19,
    "1790000000000000000",
)


def _time(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(TIMES))
    year = draw(st.sampled_from([1, 1969, 1970, 2024, 9999]))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 99))
    fraction = draw(st.sampled_from(["", ".5", ".123", ".1234567890"]))
    zone = draw(st.sampled_from(["Z", "z", "+00:00", "-01:00", "+14:00", "+23:59", "-23:59", ""]))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


times = st.composite(_time)()
strings = st.one_of(
    st.sampled_from(STRINGS),
    st.text(max_size=40),
    # st.text leaves out lone surrogates (category Cs); mix them in.
    st.text(st.characters() | st.characters(categories=["Cs"]), max_size=12),
)
integers = st.one_of(
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**18, 10**19]),
    st.integers(),
    st.builds(lambda n: Raw("9" * n), st.sampled_from([4300, 4301, 5000])),
)
# Around the depth json.loads still accepts (~990 levels): where a later json.dumps of the
# same value (an error message) can overflow the stack.
deep = st.builds(lambda n: Raw("[" * n + "]" * n), st.sampled_from([10, 500, 1100]) | st.integers(960, 1000))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    integers,
    st.floats(allow_nan=False),
    strings,
    times,
    st.sampled_from(LANGS),
    deep,
    st.builds(Raw, st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0"])),
)
values = st.recursive(
    leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3)
)


def _field(default: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a value of the field's kind, sometimes anything, sometimes absent (...)."""
    return st.one_of(default, default, default, values, st.just(...))


def _record(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    drawn = st.fixed_dictionaries({name: _field(strategy) for name, strategy in fields.items()})
    extra = st.dictionaries(strings, values, max_size=2)
    return st.builds(lambda d, e: {**e, **{k: v for k, v in d.items() if v is not ...}}, drawn, extra)


ids = st.one_of(st.sampled_from(["1790000000000000000", "1", "abc"]), strings)
texts = st.one_of(st.sampled_from(["what a great day", "this is awful", "", "   "]), strings)
langs = st.one_of(st.sampled_from(LANGS), strings)

x_post = _record(
    {
        "id": ids,
        "text": texts,
        "created_at": times,
        "lang": langs,
        "author_id": ids,
        "note_tweet": _record({"text": texts}),
    }
)
x_envelope = st.one_of(
    st.builds(lambda data: {"data": data}, x_post),
    _record({"errors": st.lists(_record({"type": strings, "title": strings}), max_size=2)}),
)
jetstream_record = _record({"text": texts, "createdAt": times, "langs": st.lists(langs, max_size=2)})
jetstream_event = _record(
    {
        "did": st.one_of(st.just("did:plc:abc"), strings),
        "time_us": st.one_of(st.just(1714564800000000), integers, st.booleans()),
        "kind": st.sampled_from(["commit", "identity", "account"]),
        "commit": _record(
            {
                "operation": st.sampled_from(["create", "update", "delete"]),
                "collection": st.sampled_from(["app.bsky.feed.post", "app.bsky.feed.like"]),
                "rkey": st.one_of(st.just("3kabc"), strings),
                "record": jetstream_record,
            }
        ),
    }
)
event_v1 = _record(
    {
        "schema_version": st.one_of(st.just(1), values),
        "id": ids,
        "source": st.sampled_from(["x", "bluesky", "replay", "synthetic", "mastodon"]),
        "text": texts,
        "lang": langs,
        "created_at": times,
        "ingested_at": times,
        "author_id": ids,
        "url": st.sampled_from(["https://x.com/i/web/status/1", "http://a"]),
    }
)


def _dumps(value: Any, ascii_only: bool) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        items = (f"{_dumps(str(k), ascii_only)}:{_dumps(v, ascii_only)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v, ascii_only) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON bytes; without ascii_only a lone surrogate is written raw (ED A0 80: invalid
    UTF-8 that json.loads(bytes) still accepts)."""
    return _dumps(value, ascii_only).encode("utf-8", "surrogatepass")


def _json_lines(record: st.SearchStrategy[Any], most: int) -> st.SearchStrategy[bytes]:
    lines = st.lists(st.tuples(record, st.booleans()), min_size=1, max_size=most)
    return st.builds(lambda rows: b"\n".join(encode(v, a) for v, a in rows), lines)


# --- edits of the seeds -------------------------------------------------------------------


def _edit(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for where, length, insert in edits:
        at = where % (len(data) + 1)
        data[at : at + length] = insert
    return bytes(data)


_pieces = st.one_of(
    st.binary(max_size=4),
    st.sampled_from(
        [b'"', b"\\", b"\\ud800", b"\xed\xa0\x80", b"\n", b"\r", b"{", b"[", b"}", b"9" * 64, b"null"]
    ),
)


def seed_edits(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    if not seeds:
        return st.binary()
    edits = st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 3), _pieces), max_size=4)
    return st.builds(_edit, st.sampled_from(seeds), edits)


SHAPES: dict[str, st.SearchStrategy[bytes]] = {
    "x_line": _json_lines(x_envelope, 3),
    "jetstream": _json_lines(jetstream_event, 1),
    "replay": _json_lines(x_envelope, 4),
    "contract": _json_lines(st.one_of(event_v1, st.lists(times | langs | strings, max_size=3)), 1),
    "job": _json_lines(event_v1, 4),
}


def inputs(target: str, corpus: Path) -> st.SearchStrategy[bytes]:
    seeds = sorted(p.read_bytes() for p in corpus.glob("*") if p.is_file()) if corpus.is_dir() else []
    return st.one_of(SHAPES[target], SHAPES[target], seed_edits(seeds), st.binary(max_size=64))
