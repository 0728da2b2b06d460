"""Sentiment analyzers and the batch scorer the Spark job calls.

- ``tweet-lr`` (the default): a logistic regression trained on TweetEval's English tweets
  (``linear_model``; docs/model-card.md). Its polarity is P(positive) - P(negative), its label
  the most probable class, its confidence that class's probability.
- ``textblob`` and ``vader``: the lexicon analyzers of the original design. Both read their
  lexicons from files inside their wheels (TextBlob's sentiment needs no NLTK corpus).

Nothing is downloaded at run time. Build an analyzer with ``get_analyzer``: once per process
(a Spark Python worker), not per row.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from tweet_sentiment_common import contract

from .linear_model import CLASSES, LinearModel, bundled_paths

if TYPE_CHECKING:
    import pandas as pd

LABELS = contract.LABELS
NEGATIVE, NEUTRAL, POSITIVE, UNSUPPORTED = LABELS
TWEET_MODEL = "tweet-lr"
MODELS = (TWEET_MODEL, "textblob", "vader")
DEFAULT_MODEL = TWEET_MODEL
# VADER's own recommended cut-offs on the compound score.
VADER_THRESHOLD = 0.05


@dataclass(frozen=True, slots=True)
class Score:
    polarity: float
    # None when the model has no such measure (VADER, the tweet model).
    subjectivity: float | None
    label: str
    # The probability of the label; None for the lexicon analyzers, which have none.
    confidence: float | None = None


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
    """The label a lexicon model's polarity maps to (NaN gives Neutral).

    The tweet model's label is its most probable class, which polarity alone does not fix.
    """
    if model not in MODELS:
        raise _unknown_model(model)
    try:
        labeller = _LABELLERS[model]
    except KeyError:
        raise ValueError(f"{model}'s label is its most probable class, not a function of polarity") from None
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


class TweetModelAnalyzer:
    """The tweet-trained model (``linear_model``), loaded once from the package's artifact
    after its sha256 is checked against the model card."""

    name = TWEET_MODEL

    def __init__(self) -> None:
        self.model = LinearModel.load(*bundled_paths(TWEET_MODEL))
        self.model.probabilities(["warm up"])  # first-call costs (numpy paths) before the first batch

    def score_many(self, texts: Sequence[str]) -> list[Score]:
        probabilities = self.model.probabilities(list(texts))
        best = probabilities.argmax(axis=1)
        polarity = probabilities[:, CLASSES.index(POSITIVE)] - probabilities[:, CLASSES.index(NEGATIVE)]
        return [
            Score(float(p), None, CLASSES[b], float(row[b]))
            for p, b, row in zip(polarity, best, probabilities, strict=True)
        ]

    def score(self, text: str) -> Score:
        return self.score_many([text])[0]


AnyAnalyzer = TweetModelAnalyzer | TextBlobAnalyzer | VaderAnalyzer
_ANALYZERS: dict[str, Callable[[], AnyAnalyzer]] = {
    TWEET_MODEL: TweetModelAnalyzer,
    "textblob": TextBlobAnalyzer,
    "vader": VaderAnalyzer,
}


@functools.cache
def get_analyzer(name: str) -> AnyAnalyzer:
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
        tag = contract.UNDETERMINED_LANG
    return tag in accepted or tag.split("-", 1)[0] in accepted


def score_frame(texts: pd.Series, langs: pd.Series, model: str, languages: frozenset[str]) -> pd.DataFrame:
    """Score a batch: columns ``polarity``, ``subjectivity``, ``confidence`` (float64) and ``sentiment``.

    Rows whose language is not in ``languages`` get ``Unsupported`` and NaN scores (NaN
    becomes null when Spark converts the frame through Arrow), as does a measure the model
    lacks. A null text scores as the empty string. The lexicon analyzers loop over plain
    lists (one dict lookup per row on top of the analyzer); the tweet model scores every
    supported row of the batch in one vectorised call.
    """
    import numpy as np
    import pandas as pd

    analyzer = get_analyzer(model)
    size = len(texts)
    polarity = np.full(size, math.nan)
    subjectivity = np.full(size, math.nan)
    confidence = np.full(size, math.nan)
    sentiment = np.full(size, UNSUPPORTED, dtype=object)
    supported: dict[object, bool] = {}
    rows: list[int] = []
    chosen: list[str] = []
    for row, (text, lang) in enumerate(zip(texts.tolist(), langs.tolist(), strict=True)):
        key = lang if isinstance(lang, str) else None  # NaN != NaN would defeat the cache
        ok = supported.get(key)
        if ok is None:
            ok = supported[key] = is_supported(key, languages)
        if ok:
            rows.append(row)
            chosen.append(text if isinstance(text, str) else "")
    if isinstance(analyzer, TweetModelAnalyzer):
        scores = analyzer.score_many(chosen)
        for row, result in zip(rows, scores, strict=True):
            polarity[row], confidence[row], sentiment[row] = result.polarity, result.confidence, result.label
    else:
        score = analyzer.polarity_subjectivity
        labeller = _LABELLERS[model]
        for row, text in zip(rows, chosen, strict=True):
            value, subjective = score(text)
            polarity[row] = value
            sentiment[row] = labeller(value)
            if subjective is not None:
                subjectivity[row] = subjective
    return pd.DataFrame(
        {
            "polarity": polarity,
            "subjectivity": subjectivity,
            "confidence": confidence,
            "sentiment": sentiment,
        },
        index=texts.index,
    )
