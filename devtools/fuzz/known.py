"""Known failures: seeds that reproduce an open defect, and what each breaks in which target.

THE one list of expected fuzz failures. tests/fuzz/test_fuzz.py marks each (seed, target)
pair below `xfail(strict=True)`: it must fail with exactly this signature, and it turns
into a test failure the day it passes, so whoever fixes a defect removes its entries here
(the seed stays in the corpus as a regression seed). The Hypothesis budget runs tolerate
these signatures, and only these, in the targets listed, while they are here.

The `defect` is the number in issue 16 ("Defects found by fuzzing the parsers") or NEW.
docs/reliability.md (## Fuzzing) has the table of findings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    defect: str
    what: str
    fails: dict[str, str]  # target -> signature


# Empty: every finding so far is fixed (docs/reliability.md, ## Fuzzing, has the table).
KNOWN: dict[str, Known] = {}


def tolerated(target: str) -> frozenset[str]:
    """The signatures a budget run of `target` may meet while their seeds are listed."""
    return frozenset(sig for known in KNOWN.values() for t, sig in known.fails.items() if t == target)
