"""Sentiment analyzers (TextBlob, VADER) and the batch scorer the Spark job calls.

Both analyzers are lexicon-based and read their lexicons from files inside their wheels:
nothing is downloaded at run time and no NLTK corpus is needed (TextBlob's sentiment uses
its bundled pattern lexicon; only its tokenizers, taggers and classifiers need NLTK data).
Build an analyzer with ``get_analyzer``: once per process, not per row.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

LABELS = ("Negative", "Neutral", "Positive", "Unsupported")
NEGATIVE, NEUTRAL, POSITIVE, UNSUPPORTED = LABELS
MODELS = ("textblob", "vader")
# VADER's own recommended cut-offs on the compound score.
VADER_THRESHOLD = 0.05
# A post with no language tag is treated as this one.
UNDETERMINED = "und"


@dataclass(frozen=True, slots=True)
class Score:
    polarity: float
    # None when the model has no such measure (VADER).
    subjectivity: float | None
    label: str


class Analyzer(Protocol):
    name: str

    def score(self, text: str) -> Score: ...

    def score_many(self, texts: Sequence[str]) -> list[Score]: ...


def _label_textblob(polarity: float) -> str:
    if polarity > 0:
        return POSITIVE
    if polarity < 0:
        return NEGATIVE
    return NEUTRAL


def _label_vader(polarity: float) -> str:
    if polarity >= VADER_THRESHOLD:
        return POSITIVE
    if polarity <= -VADER_THRESHOLD:
        return NEGATIVE
    return NEUTRAL


_LABELLERS: dict[str, Callable[[float], str]] = {"textblob": _label_textblob, "vader": _label_vader}


def _unknown_model(name: str) -> ValueError:
    return ValueError(f"unknown sentiment model {name!r}: SENTIMENT_MODEL must be one of {', '.join(MODELS)}")


def label_for(model: str, polarity: float) -> str:
    """The label a model's polarity maps to (NaN gives Neutral)."""
    try:
        labeller = _LABELLERS[model]
    except KeyError:
        raise _unknown_model(model) from None
    return labeller(polarity)


class TextBlobAnalyzer:
    """``TextBlob(text).sentiment``, without building a TextBlob.

    ``TextBlob.sentiment`` is ``PatternAnalyzer().analyze(text)``, which is the pattern
    ``Sentiment`` lexicon called on the string plus a namedtuple class built on every call;
    calling the lexicon directly gives the same numbers about 2x faster (measured in
    docs/sentiment-quality.md; the equality is a test).
    """

    name = "textblob"

    def __init__(self) -> None:
        from textblob.en import sentiment

        self._sentiment = sentiment
        sentiment("warm up")  # the lexicon loads lazily: read it now, not inside the first batch

    def polarity_subjectivity(self, text: str) -> tuple[float, float | None]:
        if not text:
            return 0.0, 0.0
        result = self._sentiment(text)
        return float(result[0]), float(result[1])

    def score(self, text: str) -> Score:
        polarity, subjectivity = self.polarity_subjectivity(text)
        return Score(polarity, subjectivity, _label_textblob(polarity))

    def score_many(self, texts: Sequence[str]) -> list[Score]:
        return [self.score(text) for text in texts]


class VaderAnalyzer:
    """VADER's compound score as polarity.

    Subjectivity is None: VADER has no subjectivity measure, and ``1 - neu`` (the share of
    the text that carries any sentiment) is a different quantity that would sit in the same
    Elasticsearch field as TextBlob's subjectivity and mislead any chart across models.
    """

    name = "vader"

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def polarity_subjectivity(self, text: str) -> tuple[float, float | None]:
        if not text:
            return 0.0, None
        return float(self._analyzer.polarity_scores(text)["compound"]), None

    def score(self, text: str) -> Score:
        polarity, subjectivity = self.polarity_subjectivity(text)
        return Score(polarity, subjectivity, _label_vader(polarity))

    def score_many(self, texts: Sequence[str]) -> list[Score]:
        return [self.score(text) for text in texts]


_ANALYZERS: dict[str, Callable[[], TextBlobAnalyzer | VaderAnalyzer]] = {
    "textblob": TextBlobAnalyzer,
    "vader": VaderAnalyzer,
}


@functools.cache
def get_analyzer(name: str) -> TextBlobAnalyzer | VaderAnalyzer:
    """The process-wide analyzer for ``name`` (built on first use)."""
    try:
        factory = _ANALYZERS[name]
    except KeyError:
        raise _unknown_model(name) from None
    return factory()


@functools.lru_cache(maxsize=64)
def _lowered(languages: frozenset[str]) -> frozenset[str]:
    return frozenset(language.strip().lower() for language in languages)


def is_supported(lang: object, languages: frozenset[str]) -> bool:
    """Whether a post's language is scored: its tag or its primary subtag is in ``languages``.

    ``en-GB`` matches ``en``; a missing or empty tag counts as ``und``. Case-insensitive.
    """
    accepted = _lowered(languages)
    tag = lang.strip().lower() if isinstance(lang, str) else ""
    if not tag:
        tag = UNDETERMINED
    return tag in accepted or tag.split("-", 1)[0] in accepted


def score_frame(texts: pd.Series, langs: pd.Series, model: str, languages: frozenset[str]) -> pd.DataFrame:
    """Score a batch: columns ``polarity``, ``subjectivity`` (float64) and ``sentiment``.

    Rows whose language is not in ``languages`` get ``Unsupported`` and NaN scores (NaN
    becomes null when Spark converts the frame through Arrow), as does a missing
    subjectivity. A null text scores as the empty string. The loop runs on plain lists: per
    row it costs one dict lookup on top of the analyzer itself.
    """
    import pandas as pd

    analyzer = get_analyzer(model)
    score = analyzer.polarity_subjectivity
    labeller = _LABELLERS[model]
    nan = math.nan
    supported: dict[object, bool] = {}
    polarities: list[float] = []
    subjectivities: list[float] = []
    sentiments: list[str] = []
    for text, lang in zip(texts.tolist(), langs.tolist(), strict=True):
        key = lang if isinstance(lang, str) else None  # NaN != NaN would defeat the cache
        ok = supported.get(key)
        if ok is None:
            ok = supported[key] = is_supported(key, languages)
        if not ok:
            polarities.append(nan)
            subjectivities.append(nan)
            sentiments.append(UNSUPPORTED)
            continue
        polarity, subjectivity = score(text if isinstance(text, str) else "")
        polarities.append(polarity)
        subjectivities.append(nan if subjectivity is None else subjectivity)
        sentiments.append(labeller(polarity))
    return pd.DataFrame(
        {
            "polarity": pd.Series(polarities, index=texts.index, dtype="float64"),
            "subjectivity": pd.Series(subjectivities, index=texts.index, dtype="float64"),
            "sentiment": pd.Series(sentiments, index=texts.index, dtype="object"),
        }
    )
