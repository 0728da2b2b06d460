"""Text features of the tweet-trained model: hashed n-grams and lexicon scores.

One implementation serves training (``devtools.train_model``) and scoring (``linear_model``),
so the two can never disagree. A batch is tokenised in Python (one regex pass per text), then
every feature of the whole batch is hashed at once with numpy:

- a text is lower-cased, runs of 3+ equal characters are cut to 2 ("soooo" → "soo"), and
  split into tokens: runs of word characters, or any single other non-space character
  (punctuation and each emoji are tokens of their own);
- features are the tokens (``w``), pairs of adjacent tokens (``b``), and the character
  n-grams of each token padded with a space on both sides (``c``, n in ``CHAR_NGRAMS``,
  scikit-learn's ``char_wb``);
- a feature's key is a 64-bit polynomial hash of its characters, salted by kind and length
  and mixed with splitmix64's finaliser. Hashes are pure arithmetic on code points: the same
  on every machine and Python version (``hash()`` is salted per process).

Four lexicon scores per text come from the same tokens (``lexicon_scores``): VADER's word and
emoji valences summed, with a valence flipped and damped by VADER's factor for three tokens
after a negation. The lexicon travels inside the model artifact, so the scores cannot change
under a model when a package is upgraded.

The batch's tokens are laid out in one string, each text as ``"\\n tok tok … "``, so that a
window of it is a token, a token pair or a padded-token n-gram exactly when its boundary
characters say so; prefix sums find those windows without a Python loop per feature.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

CHAR_NGRAMS: Final = (2, 5)
_TOKEN = re.compile(r"\w+|[^\w\s]")
_ELONGATED = re.compile(r"(.)\1{2,}")
_SPACE, _NEWLINE = 32, 10
_BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_SALT_WORD, _SALT_BIGRAM, _SALT_CHAR = np.uint64(0x9E37), np.uint64(0x7F4A), np.uint64(0x4F1B)

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def tokens(text: str) -> list[str]:
    """The tokens of one text (see the module docstring)."""
    return _TOKEN.findall(_ELONGATED.sub(r"\1\1", text.lower()))


def _inverse(odd: int) -> int:
    # Newton's iteration for the inverse modulo 2**64 of an odd number.
    inverse = odd
    for _ in range(6):
        inverse = (inverse * (2 - odd * inverse)) % 2**64
    return inverse


_INVERSE_BASE = np.uint64(_inverse(int(_BASE)))


class _Powers:
    """BASE**i and BASE**-i modulo 2**64 for i < capacity, grown on demand."""

    def __init__(self) -> None:
        self.up: U64 = np.ones(1, dtype=np.uint64)
        self.down: U64 = np.ones(1, dtype=np.uint64)

    def get(self, length: int) -> tuple[U64, U64]:
        if len(self.up) < length:
            size = max(length, 2 * len(self.up))
            one = np.ones(1, dtype=np.uint64)
            self.up = np.concatenate((one, np.cumprod(np.full(size - 1, _BASE), dtype=np.uint64)))
            self.down = np.concatenate((one, np.cumprod(np.full(size - 1, _INVERSE_BASE), dtype=np.uint64)))
        return self.up[:length], self.down[:length]


_POWERS = _Powers()


def _mix(keys: U64) -> U64:
    # splitmix64's finaliser: spreads every input bit over the whole key.
    keys = (keys ^ (keys >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    keys = (keys ^ (keys >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return keys ^ (keys >> np.uint64(31))


@dataclass(frozen=True, slots=True)
class BatchFeatures:
    """Every feature occurrence of a batch: ``docs[i]`` is the text that ``keys[i]`` came from."""

    docs: I64
    keys: U64
    size: int


def batch_features(token_lists: Sequence[list[str]]) -> BatchFeatures:
    """The hashed features of every text (given as its ``tokens``), in one pass over the batch."""
    layout = "".join(["\n " + " ".join(toks) + " " for toks in token_lists]) + "\n"
    with np.errstate(over="ignore"):
        points = np.frombuffer(layout.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
        length = len(points)
        up, down = _POWERS.get(length)
        prefix = np.zeros(length + 1, dtype=np.uint64)
        np.cumsum(points * up, dtype=np.uint64, out=prefix[1:])
        newline = points == _NEWLINE
        space = points == _SPACE
        doc_of = np.cumsum(newline, dtype=np.int64) - 1
        spaces = np.concatenate(([0], np.cumsum(space, dtype=np.int64)))
        newlines = np.concatenate(([0], np.cumsum(newline, dtype=np.int64)))

        def window_keys(start: I64, stop: I64, salt: np.uint64) -> U64:
            return _mix(((prefix[stop] - prefix[start]) * down[start]) ^ salt)

        docs: list[I64] = []
        keys: list[U64] = []
        # Tokens: the gaps between consecutive boundary characters.
        bounds = np.flatnonzero(space | newline)
        gap_start, gap_stop = bounds[:-1] + 1, bounds[1:]
        is_token = gap_stop > gap_start
        token_start, token_stop = gap_start[is_token], gap_stop[is_token]
        token_doc = doc_of[token_start]
        docs.append(token_doc)
        keys.append(window_keys(token_start, token_stop, _SALT_WORD))
        pair = token_doc[1:] == token_doc[:-1]
        docs.append(token_doc[:-1][pair])
        keys.append(window_keys(token_start[:-1][pair], token_stop[1:][pair], _SALT_BIGRAM))
        # Character n-grams of padded tokens: no newline inside, spaces only at the two ends,
        # and not two spaces (the padding of an empty text).
        low, high = CHAR_NGRAMS
        for n in range(low, high + 1):
            start = np.arange(length - n + 1, dtype=np.int64)
            stop = start + n
            ok = (newlines[stop] == newlines[start]) & (spaces[stop - 1] == spaces[start + 1])
            if n == 2:
                ok &= ~(space[start] & space[start + 1])
            start = start[ok]
            docs.append(doc_of[start])
            keys.append(window_keys(start, start + n, _SALT_CHAR + np.uint64(n)))
    return BatchFeatures(np.concatenate(docs), np.concatenate(keys), len(token_lists))


LEXICON_SCORES: Final = ("positive", "negative", "hits", "compound")
# VADER's constants: a negated valence is multiplied by this, and compound = s / sqrt(s² + 15).
NEGATION_FACTOR: Final = -0.74
NEGATION_SCOPE: Final = 3
COMPOUND_ALPHA: Final = 15.0
_APOSTROPHES = frozenset({"'", "\u2019"})


def lexicon_scores(
    token_lists: Sequence[list[str]], valence: dict[str, float], negations: frozenset[str]
) -> npt.NDArray[np.float64]:
    """Per text: summed positive and negative valence and lexicon hits per token, and compound.

    A negation is a token in ``negations`` or the ``t`` of ``n't`` (the tokenizer splits
    "don't" into "don", "'", "t").
    """
    out = np.zeros((len(token_lists), len(LEXICON_SCORES)))
    get = valence.get
    for row, toks in enumerate(token_lists):
        positive = negative = 0.0
        hits = flip = 0
        for position, word in enumerate(toks):
            if word in negations or (word == "t" and position and toks[position - 1] in _APOSTROPHES):
                flip = NEGATION_SCOPE
                continue
            value = get(word)
            if value is not None:
                hits += 1
                if flip:
                    value *= NEGATION_FACTOR
                if value > 0:
                    positive += value
                else:
                    negative -= value
            if flip:
                flip -= 1
        total = positive - negative
        count = len(toks) or 1
        out[row] = (
            positive / count,
            negative / count,
            hits / count,
            total / (total * total + COMPOUND_ALPHA) ** 0.5,
        )
    return out
