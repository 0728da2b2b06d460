"""`make bench`: throughput, latency and memory of the pipeline on this machine.

Numbers, not pass/fail: `python -m devtools.bench` runs every measurement and writes
docs/benchmarks.md. `BENCH_QUICK=1` shortens everything to a smoke run.
"""
