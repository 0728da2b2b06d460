"""The README is the front door: its commands exist and its links resolve. (Its settings,
metrics and values tables are generated: tests/test_docs.py.)"""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
DOCUMENTS = [
    "README.md",
    "charts/tweet-sentiment/README.md",
    *(f"docs/{p.name}" for p in (REPO_ROOT / "docs").glob("*.md")),
]


def test_demo_is_the_first_command_and_test_the_second() -> None:
    demo, test = README.find("make demo"), README.find("make test")
    assert 0 <= demo < test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_top_level_layout() -> None:
    for path in ("charts", "images/producer", "images/spark-job", "k8s/strimzi", "k8s/eck", "tests", "docs"):
        assert (REPO_ROOT / path).is_dir(), path
    for path in ("Makefile", "README.md", ".ci/run", "versions.env", "constraints.txt"):
        assert (REPO_ROOT / path).is_file(), path


def test_architecture_diagram_is_mermaid() -> None:
    assert "```mermaid" in README


def test_make_targets_named_in_the_readme_exist() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z0-9_-]+):", makefile, re.MULTILINE))
    targets |= {t for line in re.findall(r"^\.PHONY:(.*)$", makefile, re.MULTILINE) for t in line.split()}
    named = set(re.findall(r"\bmake ([a-z][a-z0-9-]*)", README))
    assert named - targets == set()


@pytest.mark.parametrize("document", DOCUMENTS)
def test_links_resolve(document: str) -> None:
    path = REPO_ROOT / document
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text())
    broken = [t for t in targets if not (path.parent / t).exists()]
    assert not broken, broken
