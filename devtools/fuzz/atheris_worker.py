"""One target under atheris (libFuzzer, coverage-guided), in a process of its own.

    python -m devtools.fuzz.atheris_worker TARGET OUT_DIR [libFuzzer flags and corpus dirs]

`python -m devtools.fuzz` starts it; it is not meant to be run by hand. libFuzzer stops at
the first crash, so failures are not crashes here: each distinct signature is written to
OUT_DIR (`<slug>.bin` the shortest input so far, `<slug>.txt` its signature and detail) and
the run goes on until -max_total_time. libFuzzer prints the number of runs when it ends.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import atheris

# Coverage feedback from our code only (instrumenting pandas and pydantic too would slow
# every run for edges we do not own).
OUR_PACKAGES = ["tweet_producer", "sentiment_job", "tweet_sentiment_common", "devtools.fuzz"]


def slug(sig: str) -> str:
    words = re.sub(r"[^A-Za-z0-9]+", "-", sig).strip("-")[:60]
    return f"{words}-{hashlib.sha256(sig.encode()).hexdigest()[:8]}"


def main() -> None:
    target, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    with atheris.instrument_imports(include=OUR_PACKAGES):
        from devtools.fuzz.engine import Report
        from devtools.fuzz.invariants import quiet_logs
        from devtools.fuzz.targets import TARGETS

        run = TARGETS[target].build()
    report = Report(target)
    saved: dict[str, int] = {}

    def one_input(data: bytes) -> None:
        slow = len(report.slow)
        sig = report.record(run, data)
        if len(report.slow) > slow:  # kept for the report (libFuzzer's own limit is -timeout)
            took, kept = report.slow[-1]
            (out / f"slow-input-{slow}.bin").write_bytes(kept)
            (out / f"slow-input-{slow}.seconds").write_text(f"{took:.2f}\n")
        if sig is None or saved.get(sig, 1 << 62) <= len(data):
            return
        saved[sig] = len(data)
        name = slug(sig)
        (out / f"{name}.bin").write_bytes(data)
        (out / f"{name}.txt").write_text(f"{sig}\n{report.findings[sig].detail}\n", encoding="utf-8")

    atheris.Setup([sys.argv[0], *sys.argv[3:]], one_input)
    with quiet_logs():
        atheris.Fuzz()  # exits the process when libFuzzer is done


if __name__ == "__main__":
    main()
