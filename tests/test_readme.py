"""The README is the front door: the commands it and the other pages name exist. (Its figures
are generated: tests/test_docs.py; links resolve: tests/devtools/test_linkcheck.py.)"""

from __future__ import annotations

import re

from devtools.linkcheck import markdown_files
from tests.conftest import REPO_ROOT

# `make X` at the start of a code span, or a code line that runs make.
MAKE_COMMAND = re.compile(r"(?:`|^\s*(?:\$\s+)?)make ([a-z][a-z0-9-]*)", re.MULTILINE)


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_make_targets_named_in_the_docs_exist() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z0-9_-]+):", makefile, re.MULTILINE))
    targets |= {t for line in re.findall(r"^\.PHONY:(.*)$", makefile, re.MULTILINE) for t in line.split()}
    named = {
        (str(path.relative_to(REPO_ROOT)), target)
        for path in markdown_files(REPO_ROOT)
        for target in MAKE_COMMAND.findall(path.read_text(encoding="utf-8"))
    }
    assert {"demo", "test"} <= {target for path, target in named if path == "README.md"}
    assert {(path, target) for path, target in named if target not in targets} == set()
