"""The reference tables in README.md and docs are what `make docs` writes from their sources:
the settings models, the metric registries, the chart's values.yaml, the contract, the model
cards and docs/benchmarks.md."""

from __future__ import annotations

import shutil
from pathlib import Path

from devtools import docs


def test_committed_docs_are_what_make_docs_writes() -> None:
    diffs = docs.stale()
    assert not diffs, "the generated docs are stale: run `make docs`\n" + "\n".join(diffs)


def test_a_changed_table_is_detected(tmp_path: Path) -> None:
    for rel in docs.DOCUMENTS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(docs.REPO_ROOT / rel, tmp_path / rel)
    page = tmp_path / "docs" / "configuration.md"
    page.write_text(page.read_text().replace("| `KAFKA_TOPIC` | `posts` |", "| `KAFKA_TOPIC` | `tweets` |"))
    assert [d for d in docs.stale(tmp_path) if "KAFKA_TOPIC" in d]


def test_every_sentiment_model_is_an_allowed_value() -> None:
    from sentiment_job import sentiment

    row = next(line for line in docs.config_job().splitlines() if line.startswith("| `SENTIMENT_MODEL`"))
    assert all(f"`{model}`" in row for model in sentiment.MODELS), row


def test_the_readme_benchmark_summary_is_the_benchmark_pages_table() -> None:
    page = docs.BENCHMARKS.read_text(encoding="utf-8")
    summary = docs.bench_summary()
    rows = [line for line in summary.splitlines() if line.startswith("| ")]
    assert len(rows) > 2
    assert all(row in page for row in rows)
