"""The tweet-trained sentiment model: a multinomial logistic regression over ``features``.

The artifact is a plain ``.npz`` (numpy arrays only, read with ``allow_pickle=False``, so a
tampered file cannot run code) beside its model card (``<name>.card.json``), whose sha256 it
must match before a single array is read. ``devtools.train_model`` writes both.

Scoring reproduces scikit-learn's ``TfidfTransformer(sublinear_tf=True)`` (tf = 1 + ln count,
times idf, L2-normalised per text), appends the scaled lexicon scores, and applies the
softmax of the linear layer: numpy only, no scikit-learn in the image.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .features import CHAR_NGRAMS, LEXICON_SCORES, batch_features, lexicon_scores, tokens

# Bumped whenever ``features`` changes what it computes: an artifact trained on other features
# is refused instead of silently scoring garbage.
FEATURE_VERSION: Final = 1
CLASSES: Final = ("Negative", "Neutral", "Positive")
MODEL_DIR: Final = "resources/model"

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class ModelArtifactError(Exception):
    """The artifact is missing, altered, or was made for other features."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class KeyIndex:
    """Feature key -> column, as an open-addressing hash table probed for a whole batch at once.

    Keys are already well-mixed 64-bit hashes, so their low bits are the slot; a table at most
    a quarter full keeps probe runs short. Binary search over the sorted keys cost 18 cache
    misses per lookup (about half the scoring time); this costs one or two.
    """

    EMPTY: Final = np.uint64(0)

    def __init__(self, keys: npt.NDArray[np.uint64]) -> None:
        if np.any(keys == self.EMPTY):
            raise ModelArtifactError("artifact has a feature key 0, which the index reserves")
        size = 1 << max(4, int(len(keys) * 4 - 1).bit_length())
        self.mask = np.uint64(size - 1)
        self.slots = np.zeros(size, dtype=np.uint64)
        self.columns = np.zeros(size, dtype=np.int64)
        pending = np.arange(len(keys), dtype=np.int64)
        position = keys & self.mask
        while len(pending):
            target = position[pending]
            free = self.slots[target] == self.EMPTY
            # Of several keys aiming at one free slot, the first takes it; the rest probe on.
            _, first = np.unique(target, return_index=True)
            winner = np.zeros(len(pending), dtype=bool)
            winner[first] = True
            placed = free & winner
            self.slots[target[placed]] = keys[pending[placed]]
            self.columns[target[placed]] = pending[placed]
            pending = pending[~placed]
            position[pending] = (position[pending] + np.uint64(1)) & self.mask

    def lookup(self, queries: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """The column of each query key, -1 where it is not a feature of the model."""
        result = np.full(len(queries), -1, dtype=np.int64)
        pending = np.arange(len(queries), dtype=np.int64)
        position = queries & self.mask
        while len(pending):
            found = self.slots[position]
            hit = found == queries[pending]
            result[pending[hit]] = self.columns[position[hit]]
            going = ~hit & (found != self.EMPTY)
            pending, position = pending[going], (position[going] + np.uint64(1)) & self.mask
        return result


def verify(artifact: Path, card: Path) -> None:
    """Raise ``ModelArtifactError`` unless ``artifact``'s sha256 is the one ``card`` records."""
    try:
        expected = json.loads(card.read_text(encoding="utf-8"))["artifact"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelArtifactError(f"model card {card}: {exc}") from None
    try:
        actual = sha256_of(artifact)
    except OSError as exc:
        raise ModelArtifactError(f"model artifact {artifact}: {exc.strerror or exc}") from None
    if actual != expected:
        raise ModelArtifactError(
            f"model artifact {artifact} has sha256 {actual}, its card says {expected}: refusing to load it"
        )


@dataclass(frozen=True)
class LinearModel:
    keys: npt.NDArray[np.uint64]
    idf: F32
    weights: F32  # (len(keys), classes)
    lexicon_weights: F32  # (len(LEXICON_SCORES), classes)
    intercept: F32
    lexicon_scale: float
    valence: dict[str, float]
    negations: frozenset[str]
    index: KeyIndex

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> LinearModel:
        version = int(arrays["feature_version"])
        if version != FEATURE_VERSION or tuple(arrays["char_ngrams"].tolist()) != CHAR_NGRAMS:
            raise ModelArtifactError(
                f"artifact made for feature version {version}, char n-grams {arrays['char_ngrams'].tolist()}; "
                f"this code computes version {FEATURE_VERSION}, {list(CHAR_NGRAMS)}: retrain (make train-model)"
            )
        if arrays["lexicon_weights"].shape != (len(LEXICON_SCORES), len(CLASSES)):
            raise ModelArtifactError(
                f"artifact lexicon weights {arrays['lexicon_weights'].shape}, expected "
                f"{(len(LEXICON_SCORES), len(CLASSES))}"
            )
        if tuple(arrays["classes"].tolist()) != CLASSES:
            raise ModelArtifactError(
                f"artifact classes {arrays['classes'].tolist()}, expected {list(CLASSES)}"
            )
        words, values = arrays["lexicon_words"].tolist(), arrays["lexicon_valences"].tolist()
        return cls(
            keys=arrays["keys"],
            idf=arrays["idf"],
            weights=arrays["weights"],
            lexicon_weights=arrays["lexicon_weights"],
            intercept=arrays["intercept"],
            lexicon_scale=float(arrays["lexicon_scale"]),
            valence=dict(zip(words, values, strict=True)),
            negations=frozenset(arrays["negations"].tolist()),
            index=KeyIndex(arrays["keys"]),
        )

    @classmethod
    def load(cls, artifact: Path, card: Path) -> LinearModel:
        """The model in ``artifact``, after checking its sha256 against ``card``."""
        verify(artifact, card)
        with np.load(artifact, allow_pickle=False) as data:
            return cls.from_arrays({name: data[name] for name in data.files})

    def features(self, token_lists: list[list[str]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
        """(text row, feature key) of every feature occurrence: what ``design`` weighs."""
        found = batch_features(token_lists)
        return found.docs, found.keys

    def design(self, token_lists: list[list[str]]) -> tuple[F64, F64]:
        """Per text: the linear layer's input split as (n-gram part @ weights, lexicon scores)."""
        docs, keys = self.features(token_lists)
        ngram = self.ngram_layer(len(token_lists), docs, keys)
        return ngram, lexicon_scores(token_lists, self.valence, self.negations)

    def ngram_layer(self, size: int, docs: npt.NDArray[np.int64], keys: npt.NDArray[np.uint64]) -> F64:
        """The tf-idf of (row, key) occurrences over this model's keys, L2-normalised per row,
        times the weights: one row per text, one column per class."""
        index = self.index.lookup(keys)
        hit = index >= 0
        pairs = docs[hit] * len(self.keys) + index[hit]
        unique, counts = np.unique(pairs, return_counts=True)
        rows, columns = unique // len(self.keys), unique % len(self.keys)
        values = (1.0 + np.log(counts)) * self.idf[columns]
        norms = np.sqrt(np.bincount(rows, values * values, minlength=size))
        norms[norms == 0] = 1.0
        values = values / norms[rows]
        ngram = np.stack(
            [
                np.bincount(rows, values * self.weights[columns, k], minlength=size)
                for k in range(len(CLASSES))
            ],
            axis=1,
        )
        # bincount with weights gives float64; numpy's stubs say int.
        return ngram.astype(np.float64, copy=False)

    def probabilities(self, texts: list[str]) -> F64:
        """P(class) per text, rows in ``CLASSES`` order."""
        if not texts:
            return np.zeros((0, len(CLASSES)))
        ngram, lexicon = self.design([tokens(text) for text in texts])
        # Term by term, not a matrix product: BLAS may round differently with the batch size,
        # and a post's scores must not depend on the batch it arrived in.
        logits = ngram + self.intercept
        for score in range(lexicon.shape[1]):
            logits += (lexicon[:, score : score + 1] * self.lexicon_scale) * self.lexicon_weights[score]
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        result: F64 = exp / exp.sum(axis=1, keepdims=True)
        return result


def bundled_paths(name: str) -> tuple[Path, Path]:
    """The artifact and card shipped inside this package for model ``name``."""
    folder = Path(str(resources.files("sentiment_job").joinpath(MODEL_DIR)))
    return folder / f"{name}.npz", folder / f"{name}.card.json"


# A multilingual artifact holds one model per language: the arrays of language ``xx`` are named
# ``xx.<array>`` (``xx.keys``, ``xx.weights``, ...) beside a ``languages`` array listing them.
LANGUAGE_SEPARATOR: Final = "."


def language_arrays(arrays: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A multilingual artifact's arrays split per language (see ``LANGUAGE_SEPARATOR``)."""
    if "languages" not in arrays:
        raise ModelArtifactError("multilingual artifact without a 'languages' array")
    languages = [str(language) for language in arrays["languages"].tolist()]
    split: dict[str, dict[str, Any]] = {language: {} for language in languages}
    for name, value in arrays.items():
        language, separator, array = name.partition(LANGUAGE_SEPARATOR)
        if separator and language in split:
            split[language][array] = value
    return split


# A text with no letter (emoji, digits, punctuation only).
_LETTER: Final = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class EmojiTable:
    """Each emoji's measured class distribution (P(negative), P(neutral), P(positive)): the
    Emoji Sentiment Ranking's share of negative, neutral and positive tweets it occurred in."""

    rows: dict[str, int]
    probabilities: F64  # (len(rows), classes)

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> EmojiTable:
        symbols = [str(symbol) for symbol in arrays["emoji.symbols"].tolist()]
        probabilities = np.asarray(arrays["emoji.probabilities"], dtype=np.float64)
        if probabilities.shape != (len(symbols), len(CLASSES)):
            raise ModelArtifactError(f"artifact emoji table {probabilities.shape} for {len(symbols)} emoji")
        return cls({symbol: row for row, symbol in enumerate(symbols)}, probabilities)

    def probabilities_of(self, text: str) -> F64 | None:
        """The mean distribution of the known emoji of a text with no letter; None otherwise."""
        if _LETTER.search(text):
            return None
        rows = [self.rows[token] for token in tokens(text) if token in self.rows]
        if not rows:
            return None
        result: F64 = self.probabilities[rows].mean(axis=0)
        return result


@dataclass(frozen=True)
class MultilingualModel:
    """One ``LinearModel`` per language, from one artifact checked against one card, and the
    emoji table that scores posts made of emoji alone, in every language."""

    models: dict[str, LinearModel]
    emoji: EmojiTable

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any]) -> MultilingualModel:
        return cls(
            {language: LinearModel.from_arrays(part) for language, part in language_arrays(arrays).items()},
            EmojiTable.from_arrays(arrays),
        )

    def probabilities(self, language: str, texts: list[str]) -> F64:
        """P(class) per text in ``language``: the emoji table's for texts of emoji alone, the
        language's model's for the rest."""
        result = np.zeros((len(texts), len(CLASSES)))
        rest = []
        for row, text in enumerate(texts):
            emoji = self.emoji.probabilities_of(text)
            if emoji is None:
                rest.append(row)
            else:
                result[row] = emoji
        if rest:
            result[rest] = self.models[language].probabilities([texts[row] for row in rest])
        return result

    @classmethod
    def load(cls, artifact: Path, card: Path) -> MultilingualModel:
        """The models in ``artifact``, after checking its sha256 against ``card``."""
        verify(artifact, card)
        with np.load(artifact, allow_pickle=False) as data:
            return cls.from_arrays({name: data[name] for name in data.files})

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.models)
