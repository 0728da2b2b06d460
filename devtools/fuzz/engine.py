"""Running targets: one input, a seed corpus, a Hypothesis budget, and findings.

A finding is one distinct failure of one target, named by `invariants.signature`; the
shortest input seen for it is its reproducer. Engines never stop at the first failure: the
point of a run is the list of everything that breaks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.fuzz.invariants import signature
from devtools.fuzz.targets import TARGETS, Target

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_ROOT = REPO_ROOT / "tests" / "fuzz" / "corpus"
# An input slower than this is reported (not failed: CI machines are noisy).
SLOW_SECONDS = 2.0


def corpus_dir(target: str) -> Path:
    return CORPUS_ROOT / target


def seed_files() -> list[Path]:
    """Every seed of every target (each is also run through the other targets)."""
    return sorted(p for p in CORPUS_ROOT.glob("*/*") if p.is_file())


def seed_name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def outcome(run: Target, data: bytes) -> tuple[str | None, str]:
    """(signature, detail) of what `run` did with `data`; signature None when it held."""
    try:
        run(data)
    except RecursionError as exc:  # before Exception: it is one, but name it plainly
        return signature(exc), f"RecursionError: {exc}"
    except Exception as exc:
        return signature(exc), f"{type(exc).__name__}: {exc}"[:500]
    return None, ""


@dataclass
class Finding:
    target: str
    signature: str
    detail: str
    reproducer: bytes
    hits: int = 1


@dataclass
class Report:
    target: str
    executions: int = 0
    seconds: float = 0.0
    findings: dict[str, Finding] = field(default_factory=dict)
    slow: list[tuple[float, bytes]] = field(default_factory=list)

    def record(self, run: Target, data: bytes) -> str | None:
        """Run one input, keep the shortest reproducer per signature."""
        start = time.perf_counter()
        sig, detail = outcome(run, data)
        took = time.perf_counter() - start
        self.executions += 1
        if took > SLOW_SECONDS and len(self.slow) < 5:
            self.slow.append((took, data[:4096]))
        if sig is None:
            return None
        known = self.findings.get(sig)
        if known is None:
            self.findings[sig] = Finding(self.target, sig, detail, data)
        else:
            known.hits += 1
            if len(data) < len(known.reproducer):
                known.reproducer, known.detail = data, detail
        return sig


def minimize(run: Target, data: bytes, sig: str, budget_seconds: float = 10.0) -> bytes:
    """Delta debugging on bytes: drop chunks (halving their size) while `sig` still fails."""
    deadline = time.monotonic() + budget_seconds
    chunk = max(1, len(data) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        start, shrunk = 0, False
        while start < len(data) and time.monotonic() < deadline:
            candidate = data[:start] + data[start + chunk :]
            if candidate and outcome(run, candidate)[0] == sig:
                data, shrunk = candidate, True
            else:
                start += chunk
        if not shrunk:
            chunk //= 2
    return data


def run_seeds(target: str, seeds: Iterable[Path], run: Target | None = None) -> Report:
    run = run or TARGETS[target].build()
    report = Report(target)
    start = time.perf_counter()
    for path in seeds:
        report.record(run, path.read_bytes())
    report.seconds = time.perf_counter() - start
    return report


def run_hypothesis(
    target: str,
    max_examples: int,
    seconds: float | None = None,
    seed: int = 0,
    on_input: Callable[[bytes, str | None], None] | None = None,
) -> Report:
    """Hypothesis-generated inputs (strategies.inputs): `max_examples` per round, with seed
    `seed`, `seed + 1`... until `seconds` have passed (one round when None). With a fixed
    seed and one round the run is the same every time (what `make test` needs)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    from devtools.fuzz.strategies import inputs

    run = TARGETS[target].build()
    report = Report(target)
    strategy = inputs(target, corpus_dir(target))
    start = time.perf_counter()
    round_seed = seed
    while True:

        @with_seed(round_seed)
        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=False,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],  # no shrinking: a finding is not an exception to Hypothesis
        )
        @given(strategy)
        def one(data: bytes) -> None:
            sig = report.record(run, data)
            if on_input is not None:
                on_input(data, sig)

        one()
        round_seed += 1
        if seconds is None or time.perf_counter() - start >= seconds:
            break
    report.seconds = time.perf_counter() - start
    return report
