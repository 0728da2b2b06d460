"""tweet-sentiment-eval: metrics on hand-computed examples, input errors, a smoke run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest

from sentiment_job.evaluate import (
    CLASSES,
    EvalInputError,
    confusion_matrix,
    main,
    metrics,
    parse_line,
    read_examples,
)

NEG, NEU, POS = CLASSES


def _line(text: object = "a post", label: object = "positive", lang: object = "en") -> str:
    return json.dumps({"data": {"id": "1", "text": text, "lang": lang}, "label": label}, ensure_ascii=False)


def test_confusion_matrix() -> None:
    gold = [NEG, NEG, NEU, POS, POS, POS]
    pred = [NEG, NEU, NEU, POS, NEG, POS]
    assert confusion_matrix(gold, pred) == {
        NEG: {NEG: 1, NEU: 1, POS: 0},
        NEU: {NEG: 0, NEU: 1, POS: 0},
        POS: {NEG: 1, NEU: 0, POS: 2},
    }


def test_metrics_hand_computed() -> None:
    # recall: neg 1/2, neu 1/1, pos 2/3; precision: neg 1/2, neu 1/2, pos 2/2
    # F1: neg 1/2, neu 2/3, pos 4/5
    matrix = confusion_matrix([NEG, NEG, NEU, POS, POS, POS], [NEG, NEU, NEU, POS, NEG, POS])
    result = metrics(matrix)
    assert result["n"] == 6
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["macro_recall"] == pytest.approx(float(Fraction(13, 18)))
    assert result["macro_f1"] == pytest.approx(float(Fraction(59, 90)))


def test_metrics_perfect_and_zero_division() -> None:
    assert metrics(confusion_matrix([NEG, NEU, POS], [NEG, NEU, POS])) == {
        "n": 3,
        "accuracy": 1.0,
        "macro_recall": 1.0,
        "macro_f1": 1.0,
    }
    # Everything predicted neutral; no positive gold: neg and pos get recall 0 and F1 0,
    # neutral recall 1, precision 1/2, F1 2/3.
    result = metrics(confusion_matrix([NEG, NEU], [NEU, NEU]))
    assert result["accuracy"] == 0.5
    assert result["macro_recall"] == pytest.approx(1 / 3)
    assert result["macro_f1"] == pytest.approx(2 / 9)


def test_metrics_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no examples"):
        metrics(confusion_matrix([], []))
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        confusion_matrix([NEG, NEG], [NEG])
    with pytest.raises(ValueError, match="label outside"):
        confusion_matrix([NEG], ["Negative"])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"label": "positive"}', 'missing string "data.text"'),
        (_line(text=12345), 'missing string "data.text"'),
        (_line(label="Positive"), '"label" must be one of negative, neutral, positive'),
        (_line(label=None), "got None"),
    ],
)
def test_parse_line_errors(line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_line(line)


def test_read_examples_numbers_lines_skips_blanks_and_limits(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(
        "\n".join([_line("one", "negative"), "", _line("two"), "   ", "oops", _line("three")]) + "\n"
    )
    assert [e.text for e in read_examples(path, limit=2)] == ["one", "two"]
    with pytest.raises(EvalInputError, match=r"x\.jsonl:5: not JSON"):
        list(read_examples(path))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_main_prints_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    lines = [
        _line("I love this, it is wonderful! #happy", "positive"),
        _line("This is terrible and awful. @user", "negative"),
        _line("The train leaves at 5 http://t.co/x", "neutral"),
    ]
    path.write_text("\n".join(lines) + "\n")
    for model in ("textblob", "vader"):
        code, out, err = _run(["--model", model, str(path)], capsys)
        assert (code, err) == (0, "")
        result = json.loads(out)
        assert set(result) == {
            "n",
            "accuracy",
            "macro_recall",
            "macro_f1",
            "confusion",
            "unsupported",
            "languages",
            "average",
        }
        assert result["unsupported"] == 0
        assert set(result["languages"]) == {"en"}
        assert result["average"]["macro_f1"] == result["macro_f1"]
        assert result["n"] == 3
        assert result["accuracy"] == 1.0, result
        assert result["confusion"][POS] == {NEG: 0, NEU: 0, POS: 1}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            _line() + "\n" + '{"data": {"text": "x"}, "label": "meh"}\n',
            r"x\.jsonl:2: \"label\" must be one of",
        ),
        (_line() + "\n{broken\n", r"x\.jsonl:2: not JSON"),
        ("", "no labelled examples"),
        (b"\xff\xfe\n", "not UTF-8"),
    ],
)
def test_main_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    path = tmp_path / "x.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, out, err = _run([str(path)], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("tweet-sentiment-eval: error: ")
    assert "Traceback" not in err
    assert re.search(message, err), err


def test_main_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run([str(tmp_path / "absent.jsonl")], capsys)
    assert code == 2
    assert "absent.jsonl: No such file or directory" in err


@pytest.mark.parametrize("argv", [["--limit", "0", "f"], ["--limit", "x", "f"], ["--model", "bert", "f"], []])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: tweet-sentiment-eval" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["textblob", "vader"])
def test_smoke_on_val(val_jsonl: Path, model: str, capsys: pytest.CaptureFixture[str]) -> None:
    with val_jsonl.open(encoding="utf-8") as lines:
        gold = Counter(json.loads(line)["label"] for _, line in zip(range(200), lines, strict=False))
    code, out, _ = _run(["--model", model, "--limit", "200", str(val_jsonl)], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["n"] == 200
    assert {c: sum(row.values()) for c, row in result["confusion"].items()} == {c: gold[c] for c in CLASSES}
    for key in ("accuracy", "macro_recall", "macro_f1"):
        # Better than always answering the majority class (macro recall 1/3) on this sample.
        assert 1 / 3 < result[key] <= 1.0, (key, result)


def test_console_script(val_jsonl: Path) -> None:
    script = Path(sys.executable).with_name("tweet-sentiment-eval")
    if not script.exists():
        pytest.skip(
            "tweet-sentiment-eval not installed in this environment (pip install -e images/spark-job)"
        )
    result = subprocess.run(
        [str(script), "--model", "vader", "--no-clean", "--limit", "20", str(val_jsonl)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n"] == 20


def test_main_scores_each_post_by_its_language_as_the_job_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.jsonl"
    lines = [
        _line("I love this, it is wonderful!", "positive", "en"),
        _line("This is terrible and awful.", "negative", "en-GB"),
        _line("J'adore, c'est magnifique !", "positive", "fr"),
        _line(
            "こんにちは、いい天気ですね", "positive", "ja"
        ),  # no Japanese model: Unsupported, counted wrong
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = _run([str(path)], capsys)  # the default model, multi-lr
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["n"] == 4
    assert result["unsupported"] == 1
    assert set(result["languages"]) == {"en", "fr", "ja"}
    assert result["languages"]["ja"]["unsupported"] == 1
    assert result["languages"]["ja"]["macro_recall"] == 0.0
    assert result["languages"]["en"]["n"] == 2
    assert result["languages"]["en"]["accuracy"] == 1.0
    assert result["languages"]["fr"]["unsupported"] == 0  # scored by the French model
    assert sum(result["languages"]["fr"]["confusion"][POS].values()) == 1
    average = sum(figures["macro_f1"] for figures in result["languages"].values()) / 3
    assert result["average"]["macro_f1"] == pytest.approx(average)
    # tweet-lr has English only: the French post is Unsupported too
    code, out, _ = _run(["--model", "tweet-lr", str(path)], capsys)
    assert json.loads(out)["unsupported"] == 2


def test_language_source_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(_line("Que dia maravilhoso, adorei tudo!", "positive", "und") + "\n", encoding="utf-8")
    _code, out, _ = _run(["--language-source", "tag", str(path)], capsys)
    assert json.loads(out)["unsupported"] == 1  # und has no model
    _code, out, _ = _run(["--language-source", "tag-then-detect", str(path)], capsys)
    assert json.loads(out)["unsupported"] == 0  # the identifier says pt
