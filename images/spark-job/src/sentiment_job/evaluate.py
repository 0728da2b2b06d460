"""``tweet-sentiment-eval``: score an analyzer on labelled JSON Lines and print its metrics.

Input lines look like ``{"data": {"id", "text", "lang"}, "label": "negative|neutral|positive"}``
(the shape of ``../shared/data/tweeteval-sentiment/*.jsonl`` and ``umsab-sentiment/*/*.jsonl``).
Each post is scored by its ``lang`` exactly as the job scores it (``score_frame``: the model of
its language, the language identifier for ``und``/untagged posts per ``--language-source``,
``Unsupported`` for a language the model lacks, which counts as a wrong answer).

Output is one JSON object: ``{"n", "accuracy", "macro_recall", "macro_f1", "confusion",
"unsupported", "languages", "average"}``: the figures over every post, ``confusion[gold][pred]``
counts (``Unsupported`` posts are in ``unsupported``, not in the matrix), then the same
figures per language (the primary subtag of each post's ``lang``) and their unweighted
average (macro recall and macro F1). Macro recall is TweetEval's official metric; UMSAB's is
macro F1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment_job.cleaning import clean_text
from sentiment_job.language import DEFAULT_SOURCE, SOURCES, primary_subtag
from sentiment_job.sentiment import DEFAULT_MODEL, MODELS, UNSUPPORTED, score_frame

CLASSES = ("negative", "neutral", "positive")
_UNSUPPORTED = UNSUPPORTED.lower()
EXIT_BAD_INPUT = 2


class EvalInputError(Exception):
    """A labelled file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str | None = None


def parse_line(line: str) -> Example:
    """One JSONL record; raises ValueError with a reason (no line number: the caller adds it)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    data = record.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise ValueError('missing string "data.text"')
    label = record.get("label")
    if label not in CLASSES:
        raise ValueError(f'"label" must be one of {", ".join(CLASSES)}, got {label!r}')
    lang = data.get("lang")
    return Example(data["text"], label, lang if isinstance(lang, str) else None)


def read_examples(path: Path, limit: int | None = None) -> Iterator[Example]:
    """The examples of a file, in order; blank lines are skipped, any other bad line raises."""
    count = 0
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if limit is not None and count >= limit:
                    return
                if not line.strip():
                    continue
                try:
                    yield parse_line(line)
                except ValueError as exc:
                    raise EvalInputError(f"{path}:{number}: {exc}") from None
                count += 1
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EvalInputError(f"{path}: {exc.strerror or exc}") from None


def confusion_matrix(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = CLASSES
) -> dict[str, dict[str, int]]:
    """``matrix[g][p]`` = how many items of gold class g were predicted as p."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    known = set(labels)
    matrix = {g: dict.fromkeys(labels, 0) for g in labels}  # labels no gold item has stay as zero rows
    for g, p in zip(gold, predicted, strict=True):
        if g not in known or p not in known:
            raise ValueError(f"label outside {list(labels)}: gold {g!r}, predicted {p!r}")
        matrix[g][p] += 1
    return matrix


def metrics(matrix: dict[str, dict[str, int]]) -> dict[str, float | int]:
    """n, accuracy, macro recall and macro F1 of a square confusion matrix.

    Averages run over every class of the matrix; a class with no gold items has recall 0
    and one with no predictions precision 0 (scikit-learn's ``zero_division=0``).
    """
    labels = list(matrix)
    n = sum(sum(row.values()) for row in matrix.values())
    if n == 0:
        raise ValueError("no examples")
    correct = sum(matrix[c][c] for c in labels)
    recalls, f1s = [], []
    for c in labels:
        true_positive = matrix[c][c]
        gold_total = sum(matrix[c].values())
        predicted_total = sum(matrix[g][c] for g in labels)
        recall = true_positive / gold_total if gold_total else 0.0
        precision = true_positive / predicted_total if predicted_total else 0.0
        recalls.append(recall)
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {
        "n": n,
        "accuracy": correct / n,
        "macro_recall": sum(recalls) / len(labels),
        "macro_f1": sum(f1s) / len(labels),
    }


def _figures(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Metrics with ``Unsupported`` answers counted as wrong (a column of their own)."""
    with_unsupported = confusion_matrix(gold, predicted, (*CLASSES, _UNSUPPORTED))
    del with_unsupported[_UNSUPPORTED]  # no gold post is unsupported: not a class of the average
    scored = [(g, p) for g, p in zip(gold, predicted, strict=True) if p != _UNSUPPORTED]
    matrix = confusion_matrix([g for g, _ in scored], [p for _, p in scored])
    return {**metrics(with_unsupported), "confusion": matrix, "unsupported": len(gold) - len(scored)}


def evaluate(
    examples: Iterator[Example], model: str, clean: bool = True, language_source: str = DEFAULT_SOURCE
) -> dict[str, object]:
    import pandas as pd

    gold: list[str] = []
    texts: list[str] = []
    langs: list[str | None] = []
    for example in examples:
        gold.append(example.label)
        texts.append(clean_text(example.text) if clean else example.text)
        langs.append(example.lang)
    if not gold:
        raise EvalInputError("no labelled examples in the input")
    frame = score_frame(
        pd.Series(texts, dtype=object), pd.Series(langs, dtype=object), model, None, language_source
    )
    predicted = [label.lower() for label in frame["sentiment"]]
    per_language: dict[str, dict[str, Any]] = {}
    for language in sorted({primary_subtag(lang) for lang in langs}):
        rows = [i for i, lang in enumerate(langs) if primary_subtag(lang) == language]
        per_language[language] = _figures([gold[i] for i in rows], [predicted[i] for i in rows])
    average = {
        key: sum(figures[key] for figures in per_language.values()) / len(per_language)
        for key in ("macro_recall", "macro_f1")
    }
    return {**_figures(gold, predicted), "languages": per_language, "average": average}


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tweet-sentiment-eval",
        description="Score a sentiment analyzer on labelled JSON Lines; print the metrics as JSON.",
    )
    parser.add_argument(
        "--model", choices=MODELS, default=DEFAULT_MODEL, help=f"analyzer (default: {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--language-source",
        choices=SOURCES,
        default=DEFAULT_SOURCE,
        help=f"which language a post is scored as, as SENTIMENT_LANGUAGE_SOURCE (default: {DEFAULT_SOURCE})",
    )
    parser.add_argument(
        "--clean",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="clean each text as the job does before scoring (default: on)",
    )
    parser.add_argument("--limit", type=_positive_int, help="score only the first N records")
    parser.add_argument("file", type=Path, metavar="FILE.jsonl")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = evaluate(
            read_examples(args.file, args.limit),
            args.model,
            clean=args.clean,
            language_source=args.language_source,
        )
    except EvalInputError as exc:
        print(f"tweet-sentiment-eval: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
