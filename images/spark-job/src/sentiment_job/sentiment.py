"""Sentiment analyzers and the batch scorer the Spark job calls.

- ``multi-lr`` (the default): one logistic regression per language (ar, de, en, es, fr, hi, it,
  pt), each post scored by the model of its language (``language``; docs/model-card-multi-lr.md).
- ``tweet-lr``: a logistic regression trained on TweetEval's English tweets
  (``linear_model``; docs/model-card.md). The linear models' polarity is P(positive) -
  P(negative), their label the most probable class, their confidence that class's probability.
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
from typing import Any, Protocol

import numpy as np
import pandas as pd
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tweet_sentiment_common import contract

from . import language as language_id
from .language import DEFAULT_SOURCE
from .linear_model import CLASSES, LinearModel, ModelArtifactError, MultilingualModel, bundled_paths

LABELS = contract.LABELS
NEGATIVE, NEUTRAL, POSITIVE, UNSUPPORTED = LABELS
TWEET_MODEL = "tweet-lr"
MULTI_MODEL = "multi-lr"
MODELS = (MULTI_MODEL, TWEET_MODEL, "textblob", "vader")
DEFAULT_MODEL = MULTI_MODEL
# The languages of the English-only analyzers (tweet-lr, TextBlob, VADER), and multi-lr's
# (its artifact must have exactly these: checked at load).
ENGLISH = frozenset({"en"})
MULTI_LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "hi", "it", "pt"})
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
        # Local: textblob.en imports nltk, ~2 s (python -X importtime); only the model in use loads.
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


def _scores(probabilities: Any) -> list[Score]:
    best = probabilities.argmax(axis=1)
    polarity = probabilities[:, CLASSES.index(POSITIVE)] - probabilities[:, CLASSES.index(NEGATIVE)]
    return [
        Score(float(p), None, CLASSES[b], float(row[b]))
        for p, b, row in zip(polarity, best, probabilities, strict=True)
    ]


class TweetModelAnalyzer:
    """The tweet-trained model (``linear_model``), loaded once from the package's artifact
    after its sha256 is checked against the model card."""

    name = TWEET_MODEL

    def __init__(self) -> None:
        self.model = LinearModel.load(*bundled_paths(TWEET_MODEL))
        self.model.probabilities(["warm up"])  # first-call costs (numpy paths) before the first batch

    def score_many(self, texts: Sequence[str]) -> list[Score]:
        return _scores(self.model.probabilities(list(texts)))

    def score(self, text: str) -> Score:
        return self.score_many([text])[0]


class MultilingualAnalyzer:
    """One linear model per language (``linear_model.MultilingualModel``), from one artifact
    checked against its card; the language identifier is loaded with it."""

    name = MULTI_MODEL

    def __init__(self) -> None:
        self.model = MultilingualModel.load(*bundled_paths(MULTI_MODEL))
        if self.model.languages != MULTI_LANGUAGES:
            raise ModelArtifactError(
                f"{MULTI_MODEL} artifact has languages {sorted(self.model.languages)}, "
                f"expected {sorted(MULTI_LANGUAGES)}"
            )
        for model in self.model.models.values():
            model.probabilities(["warm up"])
        language_id.identify("warm up")  # the identifier's model, before the first batch

    @property
    def languages(self) -> frozenset[str]:
        return self.model.languages

    def knows_symbols(self, text: object) -> bool:
        """Whether ``text`` has no letter and emoji the model's emoji table knows (scored the
        same in any language)."""
        return isinstance(text, str) and self.model.emoji.probabilities_of(text) is not None

    def score_many(self, texts: Sequence[str], language: str = "en") -> list[Score]:
        """Scores of texts all in ``language`` (one of ``languages``; the job's ``score_frame``
        picks it per post, this default is for callers without a language)."""
        return _scores(self.model.probabilities(language, list(texts)))

    def score(self, text: str, language: str = "en") -> Score:
        return self.score_many([text], language)[0]


AnyAnalyzer = MultilingualAnalyzer | TweetModelAnalyzer | TextBlobAnalyzer | VaderAnalyzer
_ANALYZERS: dict[str, Callable[[], AnyAnalyzer]] = {
    MULTI_MODEL: MultilingualAnalyzer,
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


def model_languages(model: str) -> frozenset[str]:
    """The languages ``model`` has a model for: ``SENTIMENT_LANGUAGES``' default."""
    if model not in MODELS:
        raise _unknown_model(model)
    if model == MULTI_MODEL:
        return MULTI_LANGUAGES
    return ENGLISH


def is_supported(lang: object, languages: frozenset[str]) -> bool:
    """Whether a post's language is scored: its tag or its primary subtag is in ``languages``.

    ``en-GB`` matches ``en``; a missing or empty tag counts as ``und``. Case-insensitive.
    """
    accepted = _lowered(languages)
    tag = lang.strip().lower() if isinstance(lang, str) else ""
    if not tag:
        tag = contract.UNDETERMINED_LANG
    return tag in accepted or tag.split("-", 1)[0] in accepted


def score_frame(
    texts: pd.Series,
    langs: pd.Series,
    model: str,
    languages: frozenset[str] | None = None,
    language_source: str = DEFAULT_SOURCE,
) -> pd.DataFrame:
    """Score a batch: columns ``polarity``, ``subjectivity``, ``confidence`` (float64),
    ``sentiment`` and ``sentiment_lang``.

    Each post is scored as the language ``language.scoring_languages`` gives it
    (``sentiment_lang``: the primary subtag of its tag, or the identifier's language for
    ``und``/untagged posts, per ``language_source``). It is scored when that language (or its
    full tag) is in ``languages`` (default: the model's own languages) and, for ``multi-lr``,
    the model has that language. Other rows get ``Unsupported`` and NaN scores (NaN becomes
    null when Spark converts the frame through Arrow), as does a measure the model lacks. A
    null text scores as the empty string. The lexicon analyzers loop over plain lists; the
    linear models score every supported row of a language in one vectorised call.
    """
    analyzer = get_analyzer(model)
    accepted = _lowered(model_languages(model) if languages is None else languages)
    size = len(texts)
    polarity = np.full(size, math.nan)
    subjectivity = np.full(size, math.nan)
    confidence = np.full(size, math.nan)
    sentiment = np.full(size, UNSUPPORTED, dtype=object)
    text_list = texts.tolist()
    lang_list = langs.tolist()
    scoring = language_id.scoring_languages(text_list, lang_list, language_source)
    multi = analyzer if isinstance(analyzer, MultilingualAnalyzer) else None
    has_model = multi.languages if multi is not None else None
    groups: dict[str, tuple[list[int], list[str]]] = {}
    for row, (text, lang, language) in enumerate(zip(text_list, lang_list, scoring, strict=True)):
        tag = (lang.strip().lower() if isinstance(lang, str) else "") or contract.UNDETERMINED_LANG
        if multi is not None and language not in multi.languages and multi.knows_symbols(text):
            # Emoji alone have no language (`und`, or a tag without a model): their measured
            # valences are the same in every language, so any language's model scores them.
            language = min(multi.languages)
        elif (language not in accepted and tag not in accepted) or (
            has_model is not None and language not in has_model
        ):
            continue
        rows, chosen = groups.setdefault(language, ([], []))
        rows.append(row)
        chosen.append(text if isinstance(text, str) else "")
    if isinstance(analyzer, (MultilingualAnalyzer, TweetModelAnalyzer)):
        for language, (rows, chosen) in groups.items():
            if isinstance(analyzer, MultilingualAnalyzer):
                scores = analyzer.score_many(chosen, language)
            else:
                scores = analyzer.score_many(chosen)
            for row, result in zip(rows, scores, strict=True):
                polarity[row], confidence[row], sentiment[row] = (
                    result.polarity,
                    result.confidence,
                    result.label,
                )
    else:
        score = analyzer.polarity_subjectivity
        labeller = _LABELLERS[model]
        for rows, chosen in groups.values():
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
            "sentiment_lang": np.array(scoring, dtype=object),
        },
        index=texts.index,
    )
