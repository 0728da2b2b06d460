"""A fixed single-core Python loop, timed: the machine's speed of the day.

Machines of this kind differ by 2-3x from day to day (the same bench gave p99 0.23 s one day
and 0.67-0.83 s on another). Every page of measured figures records this figure beside its
results, so figures from different days compare as ratios: a page whose calibration is half
another's ran on a machine half as fast. The loop does the kind of work the hot paths do
(dict lookups, string slicing, integer arithmetic in the interpreter) and never changes: a
change to it makes old pages incomparable, so bump ``VERSION`` if it must change.

``python -m devtools.calibration`` prints it.
"""

from __future__ import annotations

import time
from typing import Final

VERSION: Final = 1
ITERATIONS: Final = 200_000
ROUNDS: Final = 5
_WORDS: Final = ("good", "bad", "okay", "great", "awful", "fine", "meh", "love")


def loop(iterations: int = ITERATIONS) -> int:
    """The fixed work: returns a checksum so that nothing can be optimised away."""
    counts: dict[str, int] = {}
    checksum = 0
    for i in range(iterations):
        word = _WORDS[i & 7]
        key = word[: 1 + i % 4]
        counts[key] = counts.get(key, 0) + 1
        checksum = (checksum * 31 + len(key) + i) & 0xFFFFFFFF
    return checksum + len(counts)


def calibration(rounds: int = ROUNDS) -> int:
    """Iterations of ``loop`` per second of CPU time, best of ``rounds`` (one thread, so one core)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        loop()
        best = min(best, time.process_time() - start)
    return round(ITERATIONS / max(best, 1e-9))


def describe(value: int) -> str:
    return f"{value:,} loop iterations/s (devtools.calibration v{VERSION}, best of {ROUNDS})"


if __name__ == "__main__":
    print(describe(calibration()))
