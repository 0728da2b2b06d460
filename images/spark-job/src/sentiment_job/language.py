"""Which language a post is scored as (the document's ``sentiment_lang``).

``SENTIMENT_LANGUAGE_SOURCE`` decides:

- ``tag-then-detect`` (the default): the primary subtag of the source's tag, lower-cased
  (``pt-BR`` → ``pt``); posts tagged ``und`` or untagged go through the language identifier;
- ``tag``: the tag only; ``und`` and untagged posts stay ``und``;
- ``detect``: the identifier for every post, whatever its tag.

The identifier is py3langid (langid.py's maintained fork, BSD-3-Clause): its model ships in
the wheel as a pickle-free ``.npz``, nothing is downloaded, and it was the most accurate of the
fast candidates on UMSAB's val texts (docs/sentiment-quality.md). A text with no letter in it
(emoji only, digits, punctuation) has no language: ``und``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Final

from tweet_sentiment_common.contract import UNDETERMINED_LANG

TAG_THEN_DETECT: Final = "tag-then-detect"
SOURCES: Final = (TAG_THEN_DETECT, "tag", "detect")
DEFAULT_SOURCE: Final = TAG_THEN_DETECT
# A letter: a word character that is not a digit nor the underscore.
_LETTER = re.compile(r"[^\W\d_]")


def primary_subtag(lang: object) -> str:
    """``pt-BR`` → ``pt``; a missing, empty or non-string tag → ``und``."""
    if not isinstance(lang, str):
        return UNDETERMINED_LANG
    primary = lang.strip().split("-", 1)[0].strip().lower()
    return primary or UNDETERMINED_LANG


@functools.cache
def _classifier() -> Callable[[str], tuple[str, float]]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    identifier.classify("warm up")
    classify: Callable[[str], tuple[str, float]] = identifier.classify
    return classify


def identify(text: str) -> str:
    """The identifier's language for ``text`` (ISO 639-1), ``und`` when it has no letter."""
    if not isinstance(text, str) or not _LETTER.search(text):
        return UNDETERMINED_LANG
    return str(_classifier()(text)[0])


def scoring_languages(texts: Sequence[object], langs: Sequence[object], source: str) -> list[str]:
    """The language each post is scored as (see the module docstring)."""
    if source not in SOURCES:
        raise ValueError(f"unknown language source {source!r}: must be one of {', '.join(SOURCES)}")
    detect_all = source == "detect"
    may_detect = source != "tag"
    tagged: dict[object, str] = {}
    result = []
    for text, lang in zip(texts, langs, strict=True):
        key = lang if isinstance(lang, str) else None  # NaN != NaN would defeat the cache
        language = tagged.get(key)
        if language is None:
            language = tagged[key] = primary_subtag(key)
        if detect_all or (may_detect and language == UNDETERMINED_LANG):
            language = identify(text if isinstance(text, str) else "")
        result.append(language)
    return result
