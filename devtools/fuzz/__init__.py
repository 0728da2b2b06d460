"""Fuzz harnesses: targets and their rules (targets.py, invariants.py), inputs (strategies.py,
tests/fuzz/corpus/), engines (engine.py, atheris_worker.py), expected failures (known.py).
`make fuzz` / `python -m devtools.fuzz`; docs/reliability.md (## Fuzzing) reports them."""
