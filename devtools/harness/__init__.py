"""The one harness of our processes, for the demo, the benchmarks and every test suite.

- `poll`: `wait_until`, the one poll loop (a timeout, an optional supervisor or liveness
  check, the last value in the failure);
- `process`: `Proc` (a console script in its own session, logging to a file) and
  `Supervisor` (restarts a crashed job like Kubernetes, fails a wait when a process dies);
- `env`: a program's environment built from its settings model (`producer_env`, `job_env`)
  and its defaults (`producer_default`, `job_default`), so nothing here restates them.

Nothing is re-exported here: `devtools.services.common` uses `poll` and `process` uses
`devtools.services.common`, so the package must not import both at once.
"""
