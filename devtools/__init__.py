"""Developer tools: the local services, the process harness, the demo and the benchmarks.

- `devtools.services`: local Kafka / Elasticsearch, Spark's Kafka jars, chart-check tools
  (standard library only: `python3 -m devtools.services ...` runs before any virtualenv).
- `devtools.harness`: the one harness of our processes: start, supervise, poll, stop, and
  their environments from the settings models (demo, bench, every test suite).
- `devtools.demo`: `make demo` / `make demo-down`.
- `devtools.bench`: `make bench`.

Their tests are under tests/devtools; tests/ holds tests and fixtures only.
"""
