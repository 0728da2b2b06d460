"""The fuzz harnesses of devtools/fuzz in `make test`: every seed through every target, and
a short, seeded Hypothesis budget per target (about 13 s of CPU in all).

`make fuzz` runs the same targets for longer under atheris (coverage-guided). Expected
failures are listed in devtools/fuzz/known.py, nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.fuzz.engine import Report, outcome, run_hypothesis, seed_files, seed_name
from devtools.fuzz.invariants import quiet_logs
from devtools.fuzz.known import KNOWN, tolerated
from devtools.fuzz.targets import TARGETS, Target

# Examples per target: a budget, not a search (`make fuzz` searches). Sized so the five
# runs take about 10 s of CPU (30-60 s of wall time on the shared 2-core machine under a
# load average of 20-28); the job target scores each row twice.
BUDGET = {"x_line": 200, "jetstream": 300, "replay": 150, "contract": 300, "job": 60}
# Fixed: the same inputs on every run, so a red CI run is reproducible.
SEED = 16


class KnownDefect(Exception):
    """A known seed failed exactly as devtools/fuzz/known.py says."""


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with quiet_logs():
        yield


@pytest.fixture(scope="module")
def built() -> dict[str, Target]:
    return {name: spec.build() for name, spec in TARGETS.items()}


def _cases() -> list[object]:
    cases: list[object] = []
    for path in seed_files():
        name = seed_name(path)
        for target in TARGETS:
            known = KNOWN.get(name)
            marks = []
            if known is not None and target in known.fails:
                found = "a NEW finding" if known.defect == "NEW" else f"issue 16 defect {known.defect}"
                why = f"{found}: {known.what}"
                marks.append(pytest.mark.xfail(raises=KnownDefect, strict=True, reason=why))
            cases.append(pytest.param(path, target, id=f"{target}-{name}", marks=marks))
    return cases


def test_every_known_seed_exists() -> None:
    names = {seed_name(p) for p in seed_files()}
    assert set(KNOWN) <= names
    assert all(set(k.fails) <= set(TARGETS) for k in KNOWN.values())


@pytest.mark.parametrize(("path", "target"), _cases())
def test_seed(built: dict[str, Target], path: Path, target: str) -> None:
    sig, detail = outcome(built[target], path.read_bytes())
    known = KNOWN.get(seed_name(path))
    expected = known.fails.get(target) if known is not None else None
    if sig is not None and sig == expected:
        raise KnownDefect(f"{sig}: {detail}")
    assert sig is None, f"{sig}: {detail}"


def _describe(report: Report, allowed: frozenset[str]) -> str:
    lines = []
    for finding in report.findings.values():
        if finding.signature not in allowed:
            lines.append(f"{finding.signature} ({finding.hits}x): {finding.detail[:200]}")
            lines.append(f"  shortest input: {finding.reproducer[:300]!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("target", list(TARGETS))
def test_budget(target: str) -> None:
    report = run_hypothesis(target, BUDGET[target], seed=SEED)
    assert report.executions == BUDGET[target]
    allowed = tolerated(target)
    unexpected = _describe(report, allowed)
    assert not unexpected, (
        f"{target}: new fuzz finding(s) in {report.executions} inputs; add the input to "
        f"tests/fuzz/corpus/{target}/ and fix it (python -m devtools.fuzz {target} reproduces):\n{unexpected}"
    )
