"""clean_text: examples and properties (the one implementation: the job runs it in its Python workers)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment_job import cleaning
from sentiment_job.cleaning import clean_text, unescape_html

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "images" / "producer" / "samples" / "posts.jsonl"

EMOJI = ["😀", "😭", "❤️", "👍🏽", "👨‍👩‍👧", "🇫🇷", "#️⃣", "1️⃣", "🔥", "☹", "♥"]

# Fragments that exercise every rule and their interplay when glued together at random.
FRAGMENTS = [
    "RT @bob:",
    "RT",
    " RT ",
    "@",
    "@user",
    "@alice.bsky.social",
    ".",
    "-",
    "_",
    ":",
    "/",
    "#",
    "##",
    "#tag",
    "#️⃣",
    "&",
    "&amp;",
    "amp;",
    "&amp",
    "&#38;",
    "#38;",
    "&#x26;",
    "x26;",
    "&lt;",
    "lt;",
    "&gt;",
    "&quot;",
    "&apos;",
    "&nbsp;",
    "&#39;",
    "&#064;",
    "&#x40;",
    "&#35;",
    "#35;",
    "&#59;",
    ";",
    "&#97;",
    "&#0;",
    "&#x1F600;",
    "&#128512;",
    "&#55296;",
    "&#xD800;",
    "&#1114111;",
    "&#x110000;",
    "&#65279;",
    "&#xFEFF;",
    "&#xFFFE;",
    "&#x10000;",
    "&#x80;",
    "&#10;",
    "&#32;",
    "&#8217;",
    "&#x2028;",
    "&#12345678;",
    "http",
    "http://",
    "HTTPS://",
    "https://t.co/abc",
    "www.",
    "WWW.x.org",
    "t.co/",
    "T.CO/z",
    "awww",
    "at.co/",
    "://",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\x85",
    "\xa0",
    "\u2028",
    "\u3000",
    "\u200b",
    "\ufe0f",
    "\u20e3",
    "a",
    "Z",
    "0",
    "9",
    "é",
    "日本",
    "ſ",
    "K",
    "\x00",
    "\x1c",
    *EMOJI,
]

tweetish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=25).map("".join)
# Any str at all, lone surrogates included: clean_text must not raise on them either.
any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=60)


EXAMPLES = [
    ("", ""),
    ("   ", ""),
    ("Plain text stays.", "Plain text stays."),
    ("RT @ReelTalkWeekly: Full list https://t.co/QqtiFVKNpK", "Full list"),
    ("RT @a: RT @b_2: hello", "hello"),
    ("  RT @a: hi", "hi"),
    ("I said RT @a: no", "I said RT : no"),  # only a leading prefix is a retweet prefix
    ("rt @a: lower case is not a prefix", "rt : lower case is not a prefix"),
    ("hi @bob and @alice.bsky.social!", "hi and !"),
    ("mail me@example.com", "mail me"),
    ("see http://a.b/c?d=1, www.x.org and t.co/xyz.", "see and"),
    ("HTTPS://EXAMPLE.COM/X shouting", "shouting"),
    ("awww.. so cute", "awww.. so cute"),
    ("chat.co/x is not t.co", "chat.co/x is not t.co"),
    ("Walking 30 min &amp; sleeping well", "Walking 30 min & sleeping well"),
    ("&lt;3 &gt; &quot;q&quot; it&#39;s &apos;x&apos;", "<3 > \"q\" it's 'x'"),
    ("double &amp;amp; and &amp;lt;3", "double & and <3"),
    ("it&#8217;s &#x1F600;", "it’s 😀"),
    ("&#64;user hi", "hi"),  # an escaped @ still makes a mention
    ("&#35;tag &#x23;", "&#35;tag &#x23;"),  # "#" is never decoded: see test_unescape
    ("a&nbsp;b", "a b"),
    ("&#97; &#0; &#55296; &#x110000; &#12345678;", "&#97; &#0; &#55296; &#x110000; &#12345678;"),
    ("&##tag", "&##tag"),
    ("&copy; &amp stay", "&copy; &amp stay"),
    ("#Happy #new_year ##2026!", "Happy new_year 2026!"),
    ("C# and #, and #️⃣ keycap", "C# and #, and #️⃣ keycap"),
    ("tabs\tand\nnew\r\nlines\u3000and\xa0nbsp", "tabs and new lines and nbsp"),
    ("so happy 😀👍🏽 #blessed", "so happy 😀👍🏽 blessed"),
]


@pytest.mark.parametrize(("raw", "expected"), EXAMPLES)
def test_examples(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_none_gives_empty() -> None:
    assert clean_text(None) == ""  # type: ignore[arg-type]


def test_whitespace_class_is_pythons_isspace() -> None:
    every_char = "".join(map(chr, range(sys.maxunicode + 1)))
    matched = set(re.findall(f"[{cleaning.WHITESPACE_CLASS}]", every_char))
    assert matched == {c for c in every_char if c.isspace()}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("&amp;amp;amp;lt;", "<"),
        ("&#38;#x26;amp;gt;", ">"),
        ("&&#35;39;", "&&#35;39;"),  # "#" is never decoded, so no "&#39;" appears
        ("&am&lt;p;", "&am<p;"),
        ("&#0000065;&#x00041;", "&#0000065;&#x00041;"),  # letters stay escaped
        ("&#0000033;&#x00021;", "!!"),
    ],
)
def test_unescape(raw: str, expected: str) -> None:
    assert unescape_html(raw) == expected


def test_adversarial_inputs_stay_linear() -> None:
    # Would take minutes with quadratic backtracking; this is a correctness check only.
    n = 60_000
    assert clean_text("#" * n + " ") == "#" * n
    assert clean_text("&" + "amp;" * (n // 4) + "lt;") == "<"
    assert clean_text("&#" + "0" * n + "x") == "&#" + "0" * n + "x"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(tweetish, any_text))
def test_idempotent_and_total(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@settings(max_examples=200)
@given(st.one_of(tweetish, any_text))
def test_nothing_left_to_remove(text: str) -> None:
    out = clean_text(text)
    assert not re.search(cleaning.URL_PATTERN, out)
    assert not re.search(cleaning.MENTION_PATTERN, out)
    assert not re.search(cleaning.HASHTAG_PATTERN, out)
    assert "  " not in out
    assert all(c == " " or not c.isspace() for c in out)
    assert out == out.strip()


@settings(max_examples=100)
@given(st.lists(st.tuples(tweetish, st.sampled_from(EMOJI)), max_size=8))
def test_emoji_preserved(parts: list[tuple[str, str]]) -> None:
    out = clean_text("".join(f"{text} {emoji} " for text, emoji in parts))
    for _, emoji in parts:
        assert emoji in out


# --- hard cases ------------------------------------------------------------------------


def _tricky_cases() -> list[str]:
    cases = [
        "RT @bob: I &amp;amp;lt;3 #python http://t.co/x 😀",
        "&#64;user hi &#x1F600; &#97; &#0; &#55296; &#x110000;",
        "&#65279;bom &#xFEFF; &#xFFFE; &#x10000; &#x10FFFF; &#127;&#x80;&#x9F; &#1;",
        "awww.. so cute www.example.com t.co/abc at.co/x",
        "&&#35;39; &am&lt;p; #️⃣ ##tag",
        "  a\u3000b\x85c \u2028",
        "&" + "amp;" * 1000 + "lt;",  # needs several bounded passes in the JVM
        "&" + "#x0026;" * 3000,
        "#" * 5000 + " ",
        "@a" + ".a" * 5000,
        "RT @a: " * 20,
        "x" * 20_000,
    ]
    # Numeric entities for every code point up to U+3000 and a spread above, both forms.
    codepoints = [*range(0x3001), *range(0x3001, 0x110001, 997), 0xFEFF, 0xFFFE, 0xFFFF, 0x10FFFF]
    entities = [f"&#{c};&#x{c:X};" for c in codepoints]
    cases += ["".join(entities[i : i + 400]) for i in range(0, len(entities), 400)]
    return cases + [raw for raw, _ in EXAMPLES]


def _jsonl_texts(path: Path, limit: int) -> Iterator[str]:
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if n >= limit:
                return
            data = json.loads(line).get("data", {})
            if isinstance(data.get("text"), str):
                yield data["text"]


def test_total_and_idempotent_on_hard_cases_and_the_corpus(shared_dir: Path) -> None:
    texts = _tricky_cases()
    if SAMPLES.exists():
        texts += list(_jsonl_texts(SAMPLES, 10_000))
    val = shared_dir / "data" / "tweeteval-sentiment" / "val.jsonl"
    if val.exists():
        texts += list(_jsonl_texts(val, 2000))
    for text in texts:
        once = clean_text(text)
        assert clean_text(once) == once, text[:80]
