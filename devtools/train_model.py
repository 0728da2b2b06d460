"""``make train-model``: train the tweet-trained sentiment model and write its card.

Reads TweetEval's train split (``$TS_SHARED_DIR/data/tweeteval-sentiment/train.jsonl``), selects
the hyper-parameters on its validation split, and writes into the job's package:

- ``resources/model/tweet-lr.npz``: the arrays ``sentiment_job.linear_model`` scores with;
  written byte-for-byte reproducibly (fixed zip timestamps, one BLAS thread);
- ``resources/model/tweet-lr.card.json``: the model card (data and its sha256, method,
  every hyper-parameter, seed, the selection grid, val scores and confusion matrix, the
  artifact's sha256, which the job checks at load), plus the comparison every model ×
  val quality × single-core posts/s measured in this same run. ``make docs`` renders it
  into docs/model-card.md and docs/sentiment-quality.md.

Texts are cleaned exactly as the job cleans them before features are taken. The test split
is never read.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sentiment_job import linear_model
from sentiment_job.cleaning import clean_text
from sentiment_job.evaluate import confusion_matrix, metrics, read_examples
from sentiment_job.features import CHAR_NGRAMS, LEXICON_SCORES, batch_features, lexicon_scores, tokens
from sentiment_job.linear_model import CLASSES, FEATURE_VERSION, LinearModel, sha256_of
from sentiment_job.sentiment import MODELS, get_analyzer, score_frame

MODEL_NAME = "tweet-lr"
SEED = 20261129
# The selection grid (every combination is fitted and scored on val).
GRID_MIN_DF = (2, 3)
GRID_C = (0.5, 1.0, 2.0)
# Fixed: the lexicon scores' scale against the L2-normalised n-gram part (1, 2 and 4 were
# tried while designing; 1 was best on val for every C) and the optimiser's budget.
LEXICON_SCALE = 1.0
MAX_ITER = 3000
CLASS_WEIGHT = "balanced"  # TweetEval's metric is macro recall: every class counts the same
# VADER's own negation words, without the apostrophe forms (the tokenizer splits "don't").
EXTRA_NEGATIONS = ("not", "no", "never", "nor")
SPEED_ROUNDS = 5
LOAD_LIMIT = 1.5


# Word (and emoji) -> valence, and the negation words.
Lexicon = tuple[dict[str, float], frozenset[str]]


def data_dir() -> Path:
    shared = os.environ.get("TS_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
    return Path(shared) / "data" / "tweeteval-sentiment"


def model_dir() -> Path:
    artifact, _ = linear_model.bundled_paths(MODEL_NAME)
    return artifact.parent


@dataclass(frozen=True)
class Split:
    texts: list[str]  # cleaned as the job cleans them
    tokens: list[list[str]]
    labels: npt.NDArray[np.str_]


def load_split(path: Path) -> Split:
    examples = list(read_examples(path))
    texts = [clean_text(e.text) for e in examples]
    labels = np.array([e.label.capitalize() for e in examples])
    return Split(texts, [tokens(t) for t in texts], labels)


def vader_lexicon() -> Lexicon:
    """VADER's word valences, each emoji valued as the sum of its description's words, and
    VADER's negation words."""
    from vaderSentiment import vaderSentiment as vader

    analyzer = vader.SentimentIntensityAnalyzer()
    valence = {word: float(value) for word, value in analyzer.lexicon.items()}
    for emoji, description in analyzer.emojis.items():
        value = sum(valence.get(word, 0.0) for word in description.split())
        if value and emoji not in valence:
            valence[emoji] = value
    negations = frozenset(w for w in vader.NEGATE if "'" not in w) | frozenset(EXTRA_NEGATIONS)
    return valence, negations


def vocabulary(token_lists: list[list[str]], min_df: int) -> npt.NDArray[np.uint64]:
    """The sorted keys of the features found in at least ``min_df`` texts."""
    found = batch_features(token_lists)
    pairs = np.unique(np.stack([found.docs, found.keys.view(np.int64)], axis=1), axis=0)
    keys, df = np.unique(pairs[:, 1], return_counts=True)
    return np.sort(keys[df >= min_df].view(np.uint64))


def count_matrix(token_lists: list[list[str]], keys: npt.NDArray[np.uint64]) -> Any:
    from scipy import sparse

    found = batch_features(token_lists)
    index = np.searchsorted(keys, found.keys)
    index[index == len(keys)] = 0
    hit = keys[index] == found.keys
    matrix = sparse.csr_matrix(
        (np.ones(int(hit.sum())), (found.docs[hit], index[hit])), shape=(found.size, len(keys))
    )
    matrix.sum_duplicates()
    return matrix


@contextmanager
def one_thread() -> Iterator[None]:
    # BLAS threads may add in any order; one thread makes the fit repeat bit for bit.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@dataclass(frozen=True)
class Fitted:
    tfidf: Any  # sklearn TfidfTransformer
    estimator: Any  # sklearn LogisticRegression

    def design(self, split_tokens: list[list[str]], keys: npt.NDArray[np.uint64], lexicon: Lexicon) -> Any:
        from scipy import sparse

        ngrams = self.tfidf.transform(count_matrix(split_tokens, keys))
        scores = lexicon_scores(split_tokens, *lexicon) * LEXICON_SCALE
        return sparse.hstack([ngrams, sparse.csr_matrix(scores)]).tocsr()


def fit(train: Split, keys: npt.NDArray[np.uint64], c: float, lexicon: Lexicon) -> Fitted:
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    tfidf = TfidfTransformer(sublinear_tf=True).fit(count_matrix(train.tokens, keys))
    estimator = LogisticRegression(C=c, class_weight=CLASS_WEIGHT, max_iter=MAX_ITER, random_state=SEED)
    fitted = Fitted(tfidf, estimator)
    with one_thread():
        estimator.fit(fitted.design(train.tokens, keys, lexicon), train.labels)
    if tuple(estimator.classes_) != CLASSES:
        raise RuntimeError(f"classes {estimator.classes_}, expected {CLASSES}")
    return fitted


def artifact_arrays(fitted: Fitted, keys: npt.NDArray[np.uint64], lexicon: Lexicon) -> dict[str, Any]:
    """What ``sentiment_job.linear_model`` scores with: numbers and strings only."""
    valence, negations = lexicon
    coef = fitted.estimator.coef_.T.astype(np.float32)
    words = sorted(valence)
    return {
        "feature_version": np.array(FEATURE_VERSION),
        "char_ngrams": np.array(CHAR_NGRAMS),
        "classes": np.array(CLASSES),
        "keys": keys,
        "idf": fitted.tfidf.idf_.astype(np.float32),
        "weights": np.ascontiguousarray(coef[: len(keys)]),
        "lexicon_weights": np.ascontiguousarray(coef[len(keys) :]),
        "intercept": fitted.estimator.intercept_.astype(np.float32),
        "lexicon_scale": np.array(LEXICON_SCALE),
        "lexicon_words": np.array(words),
        "lexicon_valences": np.array([valence[w] for w in words]),
        "negations": np.array(sorted(negations)),
    }


def predict(model: LinearModel, texts: list[str]) -> list[str]:
    probabilities = model.probabilities(texts)
    return [CLASSES[i].lower() for i in probabilities.argmax(axis=1)]


def scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    matrix = confusion_matrix([g.lower() for g in gold], predicted)
    return {**{k: round(float(v), 4) for k, v in metrics(matrix).items() if k != "n"}, "confusion": matrix}


def write_npz(path: Path, arrays: dict[str, Any]) -> None:
    """``np.savez_compressed`` without its time stamps: the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(arrays[name]), allow_pickle=False)  # type: ignore[no-untyped-call]  # numpy leaves it unannotated
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def load_average() -> float:
    return os.getloadavg()[0]


def posts_per_second(run: Callable[[list[str]], object], raw: list[str]) -> float:
    """Best of SPEED_ROUNDS, CPU time of this process (pinned to one core by the caller)."""
    best = float("inf")
    for _ in range(SPEED_ROUNDS):
        start = time.process_time()
        run(raw)
        best = min(best, time.process_time() - start)
    return round(len(raw) / best)


def clean_and_score(model: str) -> Callable[[list[str]], object]:
    import pandas as pd

    languages = frozenset({"en"})

    def run(raw: list[str]) -> object:
        texts = pd.Series([clean_text(t) for t in raw])
        return score_frame(texts, pd.Series(["en"] * len(raw)), model, languages)

    return run


def compare(val_path: Path, val: Split) -> list[dict[str, Any]]:
    """Every shipped model on val: quality and single-core clean+score posts/s, one run."""
    import pandas as pd

    raw = [e.text for e in read_examples(val_path)]
    rows = []
    for name in MODELS:
        get_analyzer(name)  # load outside the timing
        frame = score_frame(pd.Series(val.texts), pd.Series(["en"] * len(raw)), name, frozenset({"en"}))
        predicted = [label.lower() for label in frame["sentiment"]]
        quality = scores(list(val.labels), predicted)
        rows.append(
            {
                "model": name,
                **{k: quality[k] for k in ("accuracy", "macro_recall", "macro_f1")},
                "posts_per_second": posts_per_second(clean_and_score(name), raw),
            }
        )
    return rows


def alternatives(
    train: Split,
    val: Split,
    keys: npt.NDArray[np.uint64],
    c: float,
    lexicon: tuple[dict[str, float], frozenset[str]],
) -> list[dict[str, Any]]:
    """Other approaches measured on the same features, for the frontier in the docs."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    counts_train, counts_val = count_matrix(train.tokens, keys), count_matrix(val.tokens, keys)
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts_train)
    ngram_train, ngram_val = tfidf.transform(counts_train), tfidf.transform(counts_val)
    lex_train = lexicon_scores(train.tokens, *lexicon) * LEXICON_SCALE
    lex_val = lexicon_scores(val.tokens, *lexicon) * LEXICON_SCALE
    vader = SentimentIntensityAnalyzer()

    def vader_scores(texts: list[str]) -> npt.NDArray[np.float64]:
        return np.array(
            [[s["neg"], s["neu"], s["pos"], s["compound"]] for s in map(vader.polarity_scores, texts)]
        )

    variants: list[tuple[str, Any, Any, Any]] = [
        ("logistic regression, n-grams only", LogisticRegression, ngram_train, ngram_val),
        (
            "logistic regression, n-grams + VADER's own 4 scores",
            LogisticRegression,
            sparse.hstack([ngram_train, sparse.csr_matrix(vader_scores(train.texts))]).tocsr(),
            sparse.hstack([ngram_val, sparse.csr_matrix(vader_scores(val.texts))]).tocsr(),
        ),
        (
            "linear SVM, n-grams + lexicon scores",
            LinearSVC,
            sparse.hstack([ngram_train, sparse.csr_matrix(lex_train)]).tocsr(),
            sparse.hstack([ngram_val, sparse.csr_matrix(lex_val)]).tocsr(),
        ),
    ]
    rows = []
    for name, estimator, design_train, design_val in variants:
        kwargs: dict[str, Any] = {
            "C": c if estimator is LogisticRegression else 0.1,
            "class_weight": CLASS_WEIGHT,
        }
        if estimator is LogisticRegression:
            kwargs |= {"max_iter": MAX_ITER, "random_state": SEED}
        else:
            kwargs |= {"random_state": SEED}
        with one_thread():
            fitted = estimator(**kwargs).fit(design_train, train.labels)
        predicted = [p.lower() for p in fitted.predict(design_val)]
        quality = scores(list(val.labels), predicted)
        rows.append(
            {
                "approach": name,
                **{k: quality[k] for k in ("accuracy", "macro_recall", "macro_f1")},
                "params": kwargs,
            }
        )
    return rows


def train(out: Path, *, compare_models: bool = True) -> dict[str, Any]:
    folder = data_dir()
    train_path, val_path = folder / "train.jsonl", folder / "val.jsonl"
    started = time.monotonic()
    load_before = load_average()
    train_split, val_split = load_split(train_path), load_split(val_path)
    lexicon = vader_lexicon()
    grid = []
    best: tuple[tuple[float, float], dict[str, Any], dict[str, Any], Fitted] | None = None
    for min_df in GRID_MIN_DF:
        keys = vocabulary(train_split.tokens, min_df)
        for c in GRID_C:
            fitted = fit(train_split, keys, c, lexicon)
            arrays = artifact_arrays(fitted, keys, lexicon)
            quality = scores(
                list(val_split.labels), predict(LinearModel.from_arrays(arrays), val_split.texts)
            )
            params = {
                "min_df": min_df,
                "C": c,
                "features": len(keys),
                "iterations": int(fitted.estimator.n_iter_.max()),
            }
            grid.append({**params, **{k: quality[k] for k in ("accuracy", "macro_recall", "macro_f1")}})
            print(f"  min_df={min_df} C={c}: {grid[-1]}", file=sys.stderr, flush=True)
            rank = (quality["macro_recall"], quality["macro_f1"])
            if best is None or rank > best[0]:
                best = (rank, params, arrays, fitted)
    assert best is not None
    _, chosen, arrays, _ = best
    out.mkdir(parents=True, exist_ok=True)
    artifact = out / f"{MODEL_NAME}.npz"
    write_npz(artifact, arrays)
    model = LinearModel.from_arrays(dict(np.load(artifact, allow_pickle=False)))
    predicted = predict(model, val_split.texts)
    card: dict[str, Any] = {
        "name": MODEL_NAME,
        "artifact": {"file": artifact.name, "sha256": sha256_of(artifact), "bytes": artifact.stat().st_size},
        "data": {
            "train": {
                "file": "tweeteval-sentiment/train.jsonl",
                "sha256": sha256_of(train_path),
                "n": len(train_split.texts),
            },
            "val": {
                "file": "tweeteval-sentiment/val.jsonl",
                "sha256": sha256_of(val_path),
                "n": len(val_split.texts),
            },
            "test": "not read (TweetEval's held-out split)",
        },
        "method": {
            "estimator": "sklearn.linear_model.LogisticRegression (multinomial, lbfgs)",
            "features": (
                f"hashed word unigrams and bigrams and char {CHAR_NGRAMS[0]}-{CHAR_NGRAMS[1]}-grams of padded tokens "
                "(sentiment_job.features), tf-idf with sublinear tf, L2-normalised; plus "
                f"{len(LEXICON_SCORES)} lexicon scores ({', '.join(LEXICON_SCORES)}) from VADER's lexicon with negation"
            ),
            "preprocessing": "sentiment_job.cleaning.clean_text, then features.tokens (lower case, elongations cut to 2)",
            "feature_version": FEATURE_VERSION,
            "selection": "the grid point with the highest val macro recall (then macro F1)",
        },
        "hyperparameters": {
            **chosen,
            "class_weight": CLASS_WEIGHT,
            "lexicon_scale": LEXICON_SCALE,
            "max_iter": MAX_ITER,
            "char_ngrams": list(CHAR_NGRAMS),
            "word_ngrams": [1, 2],
            "sublinear_tf": True,
            "lexicon_entries": len(lexicon[0]),
            "negations": sorted(lexicon[1]),
        },
        "seed": SEED,
        "grid": grid,
        "val": scores(list(val_split.labels), predicted),
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": _version("scikit-learn"),
            "scipy": _version("scipy"),
            "vaderSentiment": _version("vaderSentiment"),
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}",
        },
    }
    card_path = out / f"{MODEL_NAME}.card.json"
    write_card(card_path, card)  # the comparison below loads the new artifact, which needs its card
    # The comparison scores the package's model: only meaningful when that is the one just written.
    if compare_models and out.resolve() == model_dir().resolve():
        card["alternatives"] = alternatives(
            train_split,
            val_split,
            vocabulary(train_split.tokens, chosen["min_df"]),
            chosen["C"],
            lexicon,
        )
        with single_core():
            load_speed = load_average()
            card["comparison"] = compare(val_path, val_split)
        card["comparison_load_average"] = round(load_speed, 2)
    card["load_average_at_start"] = round(load_before, 2)
    card["training_seconds"] = round(time.monotonic() - started)
    write_card(card_path, card)
    return card


def write_card(path: Path, card: dict[str, Any]) -> None:
    path.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@contextmanager
def single_core() -> Iterator[None]:
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def cli(
    argv: list[str] | None,
    *,
    prog: str,
    doc: str,
    skipped: str,
    data: tuple[str, Path, Path],
    train: Callable[[Path, bool], dict[str, Any]],
    shown: tuple[str, ...],
) -> int:
    """The command line of both trainers: `--out`, `--no-compare`, a check that the data
    (name, a file that must exist, the folder to name) is there, and a summary of the card."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=None, help="folder to write to (default: the job's package)"
    )
    parser.add_argument(
        "--no-compare", action="store_true", help=f"skip the other {skipped} and the speed table"
    )
    args = parser.parse_args(argv)
    name, required, folder = data
    if not required.is_file():
        print(f"train-model: no {name} data in {folder} (set TS_SHARED_DIR)", file=sys.stderr)
        return 2
    card = train(args.out or model_dir(), not args.no_compare)
    print(json.dumps({k: card.get(k) for k in shown}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli(
        argv,
        prog="devtools.train_model",
        doc=__doc__ or "",
        skipped="approaches",
        data=("TweetEval", data_dir() / "train.jsonl", data_dir()),
        train=lambda out, compare: train(out, compare_models=compare),
        shown=("artifact", "hyperparameters", "val"),
    )


if __name__ == "__main__":
    sys.exit(main())
