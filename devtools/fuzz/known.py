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

SCHEMA_NULL = "broken schema-rejects-model-event author_id type"


@dataclass(frozen=True)
class Known:
    defect: str
    what: str
    fails: dict[str, str]  # target -> signature


KNOWN: dict[str, Known] = {
    # NEW: the Event model and the job take "author_id": null (the job reads it as absent);
    # the shipped JSON Schema refuses it ("omitted, not null"). The producer never writes
    # null, so only another writer meets it: a consumer validating with the schema
    # rejects an event the job indexes.
    "contract/author-id-null.json": Known(
        "NEW", 'an event with "author_id": null', {"contract": SCHEMA_NULL}
    ),
}


def tolerated(target: str) -> frozenset[str]:
    """The signatures a budget run of `target` may meet while their seeds are listed."""
    return frozenset(sig for known in KNOWN.values() for t, sig in known.fails.items() if t == target)
