"""Text cleaning before sentiment scoring: ``clean_text``, the one implementation (the job
runs it in its Python workers, in the same pass that parses and scores the posts).

The regular expressions below use explicit character classes instead of ``\\s``, ``\\w``,
``.``, ``$`` or case-insensitive flags, so what they match is spelled out.

Pipeline (each step replaces what it removes by a space, so removal cannot glue two pieces
of text into a new entity, URL or mention; that is what makes the cleaning idempotent):

1. HTML entities: first every ``&`` followed by a run of ``amp;`` / ``&#38;`` / ``&#x26;``
   bodies collapses to one ``&`` (so ``&amp;amp;lt;`` ends as ``<``: what repeated
   unescaping gives), then ``&lt; &gt; &quot; &apos; &nbsp;`` and numeric entities are
   decoded in one pass. A numeric entity is decoded only when it names a valid code point
   other than NUL, surrogates, ASCII letters/digits, ``&``, ``#`` and ``;``: those could
   complete a new entity next to a literal ``&``; nobody escapes a letter on purpose.
2. A leading retweet prefix ``RT @user:`` (repeated ones too) is dropped.
3. URLs (``http://``, ``https://``, ``www.``, ``t.co/``, up to the next whitespace) go.
4. @mentions go (X handles and dotted Bluesky handles such as ``@alice.bsky.social``).
5. ``#`` before a tag character goes (``#happy`` → ``happy``); the keycap emoji ``#️⃣``, a
   ``#`` before punctuation or space and an undecoded ``&#97;`` stay.
6. Whitespace runs become one space; the result is stripped. Emoji are kept (VADER scores them).
"""

from __future__ import annotations

import re

# Every character Python's str.isspace() accepts (29 of them); Java's \s knows only 6.
WHITESPACE_CLASS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_HANDLE = r"[A-Za-z0-9_]"
# A mention is an X handle, optionally with dotted/dashed segments (Bluesky domain handles).
# Repetitions are bounded: java.util.regex recurses per repetition of a group.
_MENTION_BODY = rf"@{_HANDLE}+(?:[-.]{_HANDLE}+){{0,8}}"

# 1a. "&" followed by bodies that each decode to "&": collapse the whole run at once.
_AMP_BODY = r"(?:amp;|#0*38;|#[xX]0*26;)"
AMP_RUN_PATTERN = rf"&{_AMP_BODY}+"
# 1b. Named and numeric entities; group 1 = name, 2 = decimal digits, 3 = hex digits.
ENTITY_PATTERN = r"&(?:(lt|gt|quot|apos|nbsp)|#0*([0-9]{1,7})|#[xX]0*([0-9a-fA-F]{1,6}));"
NAMED_ENTITIES = {"lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\xa0"}
# Code points a numeric entity is never decoded to (see the module docstring).
UNDECODED_CODEPOINTS = frozenset(
    {0, *map(ord, "&#;"), *range(ord("0"), ord("9") + 1), *range(ord("A"), ord("Z") + 1)}
    | set(range(ord("a"), ord("z") + 1))
)
MAX_CODEPOINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)

# 2. One or more retweet prefixes at the very start (bounded: see _MENTION_BODY).
RT_PREFIX_PATTERN = (
    rf"^(?:[{WHITESPACE_CLASS}]*RT[{WHITESPACE_CLASS}]+{_MENTION_BODY}[{WHITESPACE_CLASS}]*:){{1,8}}"
)
# 3. URLs run to the next whitespace. "www." and "t.co/" need a non-word character (or the
# start) before them so that "awww..." survives; the scheme form does not. Written to start
# with one character class: both engines then reject most positions at the first character.
URL_PATTERN = (
    r"[HhWwTt](?:(?<=[Hh])[Tt][Tt][Pp][Ss]?://"
    r"|(?<=[Ww])(?<![A-Za-z0-9_][Ww])[Ww][Ww]\."
    r"|(?<=[Tt])(?<![A-Za-z0-9_][Tt])\.[Cc][Oo]/)"
    rf"[^{WHITESPACE_CLASS}]*"
)
# 4.
MENTION_PATTERN = _MENTION_BODY
# 5. "#" runs before a tag character: not whitespace, not ASCII punctuation other than "_",
# not the variation selector / keycap mark of "#️⃣". Not after "&" either: "&#97;" is an
# entity left undecoded, kept as written. The look-behind also makes a run of "#" be tried
# once, from its start (otherwise a long run costs quadratic backtracking); it comes after
# the first "#" so that the engines can skip to the next "#" quickly.
_TAG_CHAR = rf"[^{WHITESPACE_CLASS}\x21-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e\ufe0f\u20e3]"
HASHTAG_PATTERN = rf"#(?<![#&]#)#*(?={_TAG_CHAR})"
# 6.
WHITESPACE_RUN_PATTERN = rf"[{WHITESPACE_CLASS}]+"

_AMP_RUN = re.compile(AMP_RUN_PATTERN)
_ENTITY = re.compile(ENTITY_PATTERN)
_RT_PREFIX = re.compile(RT_PREFIX_PATTERN)
_URL = re.compile(URL_PATTERN)
_MENTION = re.compile(MENTION_PATTERN)
_HASHTAG = re.compile(HASHTAG_PATTERN)
_WHITESPACE_RUN = re.compile(WHITESPACE_RUN_PATTERN)


def decodable(codepoint: int) -> bool:
    """Whether a numeric entity naming ``codepoint`` is decoded."""
    return (
        0 < codepoint <= MAX_CODEPOINT
        and not SURROGATES[0] <= codepoint <= SURROGATES[1]
        and codepoint not in UNDECODED_CODEPOINTS
    )


def _decode_entity(match: re.Match[str]) -> str:
    name, decimal, hexadecimal = match.groups()
    if name:
        return NAMED_ENTITIES[name]
    codepoint = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(codepoint) if decodable(codepoint) else match.group(0)


def unescape_html(text: str) -> str:
    """Step 1 alone (exposed for tests)."""
    if "&" not in text:
        return text
    return _ENTITY.sub(_decode_entity, _AMP_RUN.sub("&", text))


def clean_text(text: str) -> str:
    """Clean one post's text for sentiment scoring. Pure, idempotent, total on ``str``.

    ``None`` (a null text column) gives ``""``.
    """
    if not text:
        return ""
    text = unescape_html(text)
    if "@" in text:
        text = _RT_PREFIX.sub("", text)
        text = _URL.sub(" ", text)
        text = _MENTION.sub(" ", text)
    else:
        text = _URL.sub(" ", text)
    if "#" in text:
        text = _HASHTAG.sub(" ", text)
    return _WHITESPACE_RUN.sub(" ", text).strip(" ")
