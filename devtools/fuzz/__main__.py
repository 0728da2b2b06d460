"""`make fuzz`: run the fuzz targets for a bounded time and list what broke.

    python -m devtools.fuzz [--seconds 60] [--engine atheris|hypothesis] [TARGET ...]
    python -m devtools.fuzz --input FILE TARGET     # what one input does to one target

Per target: every seed of every corpus (tests/fuzz/corpus/*/), then the engine for
--seconds (atheris, coverage-guided, when it is installed; Hypothesis otherwise), then each
finding's input shrunk. Reproducers go to .fuzz/findings/<target>/. Exit status 1 when a
finding is not one of devtools/fuzz/known.py's (a NEW defect: add its input to the target's
corpus and to known.py, or fix it).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import time
from pathlib import Path

from devtools.fuzz.atheris_worker import slug
from devtools.fuzz.engine import (
    REPO_ROOT,
    Finding,
    Report,
    corpus_dir,
    minimize,
    outcome,
    run_hypothesis,
    run_seeds,
    seed_files,
)
from devtools.fuzz.invariants import quiet_logs
from devtools.fuzz.known import tolerated
from devtools.fuzz.targets import TARGETS

WORK_DIR = REPO_ROOT / ".fuzz"
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def run_atheris(target: str, seconds: int) -> Report:
    """The worker process for `seconds`; its findings read back from its output folder."""
    out = WORK_DIR / "atheris" / target
    corpus = WORK_DIR / "corpus" / target  # libFuzzer adds the inputs that found new edges here
    for folder in (out, corpus):
        folder.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        old.unlink()
    log = WORK_DIR / f"{target}.libfuzzer.log"
    command = [
        sys.executable,
        "-m",
        "devtools.fuzz.atheris_worker",
        target,
        str(out),
        f"-max_total_time={seconds}",
        "-timeout=30",  # one input this slow is a hang: libFuzzer stops and saves it
        "-rss_limit_mb=3072",
        "-max_len=16384",
        f"-artifact_prefix={out}/",
        str(corpus),
        str(corpus_dir(target)),
    ]
    start = time.perf_counter()
    with log.open("wb") as stream:
        done = subprocess.run(command, cwd=REPO_ROOT, stdout=stream, stderr=subprocess.STDOUT)
    report = Report(target, seconds=time.perf_counter() - start)
    text = log.read_text(encoding="utf-8", errors="replace")
    runs = _DONE.findall(text)
    report.executions = int(runs[-1][0]) if runs else 0
    for note in out.glob("*.txt"):
        sig, _, detail = note.read_text(encoding="utf-8").partition("\n")
        report.findings[sig] = Finding(target, sig, detail.strip(), note.with_suffix(".bin").read_bytes())
    for timing in sorted(out.glob("slow-input-*.seconds")):
        report.slow.append((float(timing.read_text()), timing.with_suffix(".bin").read_bytes()))
    for artifact in out.glob("*-*"):
        if artifact.name.startswith(("crash-", "timeout-", "oom-", "slow-unit-")):
            kind = artifact.name.split("-", 1)[0]
            sig = f"libFuzzer {kind}"
            report.findings[sig] = Finding(target, sig, f"see {log}", artifact.read_bytes())
    if done.returncode != 0 and not any(s.startswith("libFuzzer") for s in report.findings):
        sig = f"libFuzzer exit {done.returncode}"
        report.findings[sig] = Finding(target, sig, f"see {log}", b"")
    return report


def fuzz(target: str, seconds: int, engine: str, shrink_seconds: float) -> Report:
    run = TARGETS[target].build()
    seeds = run_seeds(target, seed_files(), run)
    if engine == "atheris":
        report = run_atheris(target, seconds)
    else:
        report = run_hypothesis(target, max_examples=500, seconds=seconds, seed=int(time.time()))
    report.executions += seeds.executions
    for sig, finding in seeds.findings.items():
        found = report.findings.setdefault(sig, finding)
        if len(finding.reproducer) < len(found.reproducer):
            found.reproducer = finding.reproducer
    saved = WORK_DIR / "findings" / target
    saved.mkdir(parents=True, exist_ok=True)
    for sig, finding in report.findings.items():
        if not sig.startswith("libFuzzer"):
            finding.reproducer = minimize(run, finding.reproducer, sig, shrink_seconds)
        (saved / f"{slug(sig)}.bin").write_bytes(finding.reproducer)
    return report


def print_report(report: Report) -> bool:
    """The target's findings; True when one of them is not a known defect."""
    known = tolerated(report.target)
    print(f"\n{report.target}: {report.executions} executions in {report.seconds:.0f} s")
    new = False
    for sig, finding in sorted(report.findings.items()):
        status = "known" if sig in known else "NEW"
        new |= status == "NEW"
        hits = f"  ({finding.hits}x)" if finding.hits > 1 else ""  # atheris reports each once
        print(f"  [{status:5}] {sig}{hits}")
        print(f"          {finding.detail[:160]}")
        print(f"          input: {finding.reproducer[:200]!r}")
    for took, data in report.slow:
        print(f"  [slow ] {took:.1f} s: {data[:120]!r}")
    if not report.findings:
        print("  no findings")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"{', '.join(TARGETS)} (default: all)")
    parser.add_argument("--seconds", type=int, default=60, help="engine time per target (default 60)")
    have_atheris = importlib.util.find_spec("atheris") is not None
    parser.add_argument(
        "--engine", choices=["atheris", "hypothesis"], default="atheris" if have_atheris else "hypothesis"
    )
    parser.add_argument("--shrink-seconds", type=float, default=10.0, help="time to shrink each finding")
    parser.add_argument("--input", type=Path, help="run this one file through TARGET and show what happens")
    args = parser.parse_args(argv)
    if unknown := set(args.targets) - set(TARGETS):
        parser.error(f"unknown target(s) {', '.join(sorted(unknown))}: choose from {', '.join(TARGETS)}")
    targets = args.targets or list(TARGETS)
    if args.input is not None:
        for target in targets:
            with quiet_logs():
                sig, detail = outcome(TARGETS[target].build(), args.input.read_bytes())
            print(f"{target}: {'ok' if sig is None else f'{sig}: {detail}'}")
        return 0
    new = False
    for target in targets:
        with quiet_logs():
            report = fuzz(target, args.seconds, args.engine, args.shrink_seconds)
        new |= print_report(report)
    print(f"\nreproducers: {WORK_DIR / 'findings'}")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
