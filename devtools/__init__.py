"""Developer tools: the local services, the pipeline launcher, the demo and the benchmarks.

- `devtools.services`: local Kafka / Elasticsearch, Spark's Kafka jars, chart-check tools
  (standard library only: `python3 -m devtools.services ...` runs before any virtualenv).
- `devtools.pipeline`: the one launcher of the producer and the job (demo, bench, e2e tests).
- `devtools.demo`: `make demo` / `make demo-down`.
- `devtools.bench`: `make bench`.

Their tests are under tests/devtools; tests/ holds tests and fixtures only.
"""
