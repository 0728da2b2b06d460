"""Where a micro-batch's time goes: the job's per-batch log lines, summarised by batch size.

The job logs two lines per non-empty micro-batch: from its `foreachBatch`, the time its
tasks spent in each phase, summed over the tasks (`sentiment_job.job.task_phases`), then from
Spark's progress report (`sentiment_job.metrics.batch_breakdown`):

    batch 7: 50 rows in 1 task(s), 50 indexed, 0 dead-lettered, 0 rejected in 0.2s; tasks: rows in 12 ms, prepare 8 ms, score 9 ms, bulk 10 ms
    batch 7 (50 rows): kafka offsets 3 ms, kafka batch 1 ms, planning 12 ms, process+write 180 ms, commit 17 ms; total 215 ms; listener 0.4 ms

`python -m devtools.bench.breakdown JOB_LOG` prints the median of every phase for small
batches (the 50 posts/s latency runs: at most SMALL rows) and large ones (the top throughput
steps: at least LARGE rows), the table `make bench` puts in docs/benchmarks.md.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from devtools.bench.stats import median

LINE = re.compile(
    r"batch (?P<id>\d+) \((?P<rows>\d+) rows\): (?P<phases>[^;]+); total (?P<total>\d+) ms; "
    r"listener (?P<listener>[\d.]+) ms"
)
TASKS = re.compile(r"batch (?P<id>\d+): .* in [\d.]+s; tasks: (?P<phases>.+)$")
TASK_PREFIX = "tasks: "  # task phases inside process+write, summed over the batch's tasks
PHASE = re.compile(r"(?P<name>[a-z+ ]+?) (?P<ms>\d+) ms")
# Batch sizes (rows) of the bench's 50 posts/s runs and of its top throughput steps (4,000 and
# 6,000 posts/s, and the drains between steps), with batches of ~110 ms.
SMALL, LARGE = 30, 500


def _phases(text: str, prefix: str = "") -> dict[str, float]:
    return {prefix + p["name"].strip(): float(p["ms"]) for p in PHASE.finditer(text)}


def parse(lines: Iterable[str]) -> list[dict[str, float]]:
    """One dict per batch of one job's log: rows, each phase (ms), the task phases inside
    process+write (when the job logged them), total and listener (ms)."""
    batches = []
    tasks: dict[str, dict[str, float]] = {}  # batch id → task phases, logged before the listener's line
    for line in lines:
        if match := TASKS.search(line):
            tasks[match["id"]] = _phases(match["phases"], TASK_PREFIX)
            continue
        match = LINE.search(line)
        if not match:
            continue
        batch = {"rows": float(match["rows"])}
        for name, ms in _phases(match["phases"]).items():
            batch[name] = ms
            if name == "process+write":
                batch |= tasks.pop(match["id"], {})
        batch |= {"total": float(match["total"]), "listener": float(match["listener"])}
        batches.append(batch)
    return batches


def summarise(batches: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """{"small" | "large": {phase: median ms, "batches": n}} for the buckets that have batches."""
    buckets = {
        "small": [b for b in batches if b["rows"] <= SMALL],
        "large": [b for b in batches if b["rows"] >= LARGE],
    }
    phases = list(dict.fromkeys(k for b in batches for k in b if k != "rows"))
    out: dict[str, dict[str, float]] = {}
    for name, group in buckets.items():
        if group:
            # A phase's median over the batches that logged it (an older job logged no task phases).
            out[name] = {k: median([b[k] for b in group if k in b] or [math.nan]) for k in ["rows", *phases]}
            out[name]["batches"] = float(len(group))
    return out


def _ms(value: float, decimals: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{decimals}f}"


def table(summary: dict[str, dict[str, float]]) -> list[str]:
    if not summary:
        return []
    phases = [k for k in next(iter(summary.values())) if k not in {"rows", "batches"}]
    head = ["batches", "n", "median rows", *[f"{p} (ms)" for p in phases]]
    label = {"small": f"≤ {SMALL} rows (50 posts/s)", "large": f"≥ {LARGE:,} rows (4,000–6,000 posts/s)"}
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for name, values in summary.items():
        cells = [label[name], f"{values['batches']:.0f}", f"{values['rows']:,.0f}"]
        cells += [_ms(values[p], decimals=1 if p == "listener" else 0) for p in phases]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def from_run(workdir: Path, model: str) -> dict[str, dict[str, float]]:
    """The summary of one bench run's job log for ``model`` (empty when it has none)."""
    logs = sorted(workdir.glob(f"bench-*-{model}/job.log"))
    return summarise(
        [b for log in logs for b in parse(log.read_text(encoding="utf-8", errors="replace").splitlines())]
    )


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    batches = [b for p in paths for b in parse(p.read_text(encoding="utf-8", errors="replace").splitlines())]
    print("\n".join(table(summarise(batches))) or "no breakdown lines found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
