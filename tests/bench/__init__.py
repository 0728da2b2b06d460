"""`make bench`: throughput, latency and memory of the pipeline on this machine.

Numbers, not pass/fail: `python -m tests.bench` runs every measurement and writes
docs/benchmarks.md. `BENCH_QUICK=1` shortens everything to a smoke run.
"""
