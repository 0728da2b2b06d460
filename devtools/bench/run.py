"""`python -m devtools.bench`: run every benchmark and write docs/benchmarks.md.

Settings (env):
  BENCH_QUICK=1          a smoke run: one run of each, small data set, 15 s windows
  BENCH_RUNS             runs per measurement (default 3; quick 1)
  BENCH_POSTS            posts in the sentiment-stage data set (default 20000; quick 2000)
  BENCH_RATES            comma-separated producer rates to step through (posts/s)
  BENCH_E2E_MODELS       analyzers to run end to end (default multi-lr,textblob; quick multi-lr)
  BENCH_SKIP             comma-separated parts to skip: stage, languages, es, latency, throughput
                         (`BENCH_SKIP=stage,latency,throughput` runs only the Elasticsearch part;
                         `python -m devtools.bench.es` runs it alone and prints its section)
  BENCH_NOTE             a note to print at the top of the page (e.g. why the run is preliminary)
  BENCH_OUTPUT           where to write the page (default docs/benchmarks.md)
  BENCH_ALLOW_BUSY=1     write the page even if the 1-minute load average was above 1.5 when a
                         part started (the page then opens with a bold warning giving the loads);
                         without it such a run writes its page only to the run's log directory
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from devtools.bench import breakdown, e2e, languages, stage
from devtools.bench import es as es_bench
from devtools.bench.cost import pid_listening, pooled
from devtools.bench.machine import LoadLog, allow_busy, gate, load_average, machine_info
from devtools.bench.memory import MemorySampler
from devtools.bench.report import fmt_s, render
from devtools.bench.stats import median, percentile
from devtools.calibration import calibration, describe
from devtools.services.common import REPO_ROOT, ServiceError, state_dir, versions
from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.kafka import KafkaBroker
from devtools.services.spark_jars import spark_job_jars
from sentiment_job.sentiment import DEFAULT_MODEL, MODELS, TWEET_MODEL
from sentiment_job.settings import DEFAULT_TRIGGER_MS


def config() -> dict[str, Any]:
    quick = os.environ.get("BENCH_QUICK") == "1"
    env = os.environ.get
    rates = env("BENCH_RATES") or ("200,1000" if quick else "500,1000,2000,4000,6000")
    return {
        "quick": quick,
        "runs": int(env("BENCH_RUNS") or (1 if quick else 3)),
        "posts": int(env("BENCH_POSTS") or (2000 if quick else 20000)),
        "models": list(MODELS),
        "e2e_models": (
            env("BENCH_E2E_MODELS") or (DEFAULT_MODEL if quick else f"{DEFAULT_MODEL},textblob")
        ).split(","),
        "rates": [float(r) for r in rates.split(",")],
        "skip": set(filter(None, (env("BENCH_SKIP") or "").split(","))),
        "partitions": 3,
        "stage_partitions": 2,
        "ramp": 5.0 if quick else 10.0,
        "window": 15.0 if quick else 60.0,
        "drain_timeout": 120.0 if quick else 300.0,
        "latency_rates": [50, 1000],
        "latency_model": DEFAULT_MODEL,
        "latency_warmup": 5.0,
        # Once per job, at the first latency rate, before any latency or cost window.
        "job_warmup": 30.0 if quick else 240.0,
        "latency_window": 15.0 if quick else 30.0,
        "idle_window": 10.0 if quick else 30.0,
        # After the idle window: the first latency rate again, measured once the job is this old
        # (s since its process started), when its JIT has compiled the per-batch path.
        "steady_age": 60.0 if quick else 900.0,
        "steady_window": 15.0 if quick else 60.0,
        # Named on the page; the job runs with its default (Pipeline.start sets no TRIGGER).
        "trigger": f"processingTime={DEFAULT_TRIGGER_MS}ms",
        "output": Path(env("BENCH_OUTPUT") or REPO_ROOT / "docs" / "benchmarks.md"),
    }


def command_line(cfg: dict[str, Any]) -> str:
    shown = [f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")]
    return " ".join([*shown, "make bench"]) + "  (`.venv/bin/python -m devtools.bench`)"


def next_rate(steps: list[e2e.Step], rates: list[float], tried: set[float]) -> float | None:
    """The next rate to try: up the list while sustained, then once halfway back down."""
    if not steps:
        return rates[0]
    last = steps[-1]
    if last.sustained:
        higher = [r for r in rates if r > last.rate and r not in tried]
        return higher[0] if higher else None
    good = [s.rate for s in steps if s.sustained]
    if not good or len([s for s in steps if not s.sustained]) > 1:
        return None
    mid = round((max(good) + last.rate) / 2, -2)
    return mid if mid not in tried and last.rate / max(good) > 1.3 else None


def run_e2e(cfg: dict[str, Any], results: dict[str, Any], env: e2e.Env, loads: LoadLog) -> None:
    with MemorySampler() as sampler:
        for model in cfg["e2e_models"]:
            print(f"[e2e] {model}: starting the job", flush=True)
            p = e2e.Pipeline.start(env, model, cfg["partitions"], sampler)
            try:
                results["startup"][model] = p.wait_ready(600, sampler)
                if model == cfg["latency_model"] and "latency" not in cfg["skip"]:
                    print(f"[e2e] {model}: warming the job up for {cfg['job_warmup']:.0f} s", flush=True)
                    e2e.warm_up(p, cfg["latency_rates"][0], cfg["job_warmup"], sampler)
                    for rate in cfg["latency_rates"]:
                        with loads.part(f"latency {rate}/s ({model})"):
                            results["latency"][rate] = latency(cfg, p, rate, sampler)
                        if results["latency"][rate].get("cost"):
                            results["cost"][model][f"{rate:g}"] = results["latency"][rate]["cost"]
                    # After the latency runs (drained), so the JVM's start-up compilation is over.
                    with loads.part(f"idle ({model})"):
                        results["cost"][model]["idle"] = idle = e2e.idle_cost(p, cfg["idle_window"])
                    print(f"[cost] idle: job {idle.job_cores:.3f} cores ({idle.load})", flush=True)
                    rate = cfg["latency_rates"][0]
                    print(f"[cost] {rate}/s once the job is {cfg['steady_age']:.0f} s old", flush=True)
                    with loads.part(f"{rate}/s warm ({model})"):
                        warm = e2e.steady_cost(p, rate, cfg["steady_age"], cfg["steady_window"], sampler)
                    results["cost"][model][f"{rate:g} warm"] = warm
                    print(f"[cost] {rate}/s warm: job {warm.job_cores:.3f} cores ({warm.load})", flush=True)
                if "throughput" not in cfg["skip"]:
                    with loads.part(f"throughput ({model})"):
                        results["steps"][model] = throughput(cfg, p, sampler)
                    good = [s for s in results["steps"][model] if s.sustained]
                    results["sustained"][model] = max(s.rate for s in good) if good else 0.0
                    top = max(good, key=lambda s: s.rate) if good else None
                    if top is not None and top.cost is not None:
                        results["cost"][model]["max"] = top.cost
            except Exception as exc:
                # Keep what was measured; the page says what failed and where the logs are.
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                results["notes"].append(f"end-to-end ({model}) failed: {first} (logs: {p.sup.workdir})")
                print(f"[e2e] {model} failed:\n{exc}", file=sys.stderr, flush=True)
            finally:
                p.close()
        results["memory"] = sampler.peaks


def run_es(cfg: dict[str, Any], results: dict[str, Any], es_url: str, run_id: str, loads: LoadLog) -> None:
    """The Elasticsearch part: bulk sizes and refresh intervals, with the job's documents."""
    defaults = results["es_defaults"]
    print("[es] bulk round trip by size, refresh interval: freshness and indexing rate", flush=True)
    try:
        with loads.part("elasticsearch"):
            results["es"] = es_bench.run(
                es_url,
                run_id,
                cfg["latency_model"],
                int(defaults["bulk_chunk_size"]),
                cfg["runs"],
                cfg["quick"],
            )
    except Exception as exc:
        # Keep what the other parts measured; the page says this one failed.
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        results["notes"].append(f"Elasticsearch part failed: {first}")
        print(f"[es] failed:\n{exc}", file=sys.stderr, flush=True)


def latency(cfg: dict[str, Any], p: e2e.Pipeline, rate: float, sampler: MemorySampler) -> dict[str, Any]:
    runs = []
    for i in range(cfg["runs"]):
        r = e2e.latency_run(p, rate, cfg["latency_warmup"], cfg["latency_window"], sampler)
        print(
            f"[latency] {rate}/s run {i + 1}: indexed p99 {fmt_s(percentile(r.indexed, 99))}, "
            f"searchable p99 {fmt_s(percentile(r.searchable, 99))} ({len(r.indexed)}/{len(r.searchable)} samples)",
            flush=True,
        )
        runs.append(r)
    out: dict[str, Any] = {
        kind: {q: median([r.pct(kind, q) for r in runs]) for q in (50, 95, 99)}
        for kind in ("indexed", "searchable")
    }
    out["n_indexed"] = sum(len(r.indexed) for r in runs)
    out["n_searchable"] = sum(len(r.searchable) for r in runs)
    out["unfound"] = sum(r.unfound for r in runs)
    out["cost"] = pooled(f"{rate:,.0f}/s", rate, [r.cost for r in runs if r.cost is not None])
    return out


def throughput(cfg: dict[str, Any], p: e2e.Pipeline, sampler: MemorySampler) -> list[e2e.Step]:
    steps: list[e2e.Step] = []
    tried: set[float] = set()
    while (rate := next_rate(steps, cfg["rates"], tried)) is not None:
        tried.add(rate)
        step = e2e.throughput_step(p, rate, cfg["ramp"], cfg["window"], sampler)
        steps.append(step)
        print(
            f"[throughput] {p.model} {rate:,.0f}/s: produced {step.produced_rate:,.0f}/s, "
            f"indexed {step.indexed_rate:,.0f}/s, backlog {step.backlog_start:,}→{step.backlog_end:,} ({step.why})",
            flush=True,
        )
        try:
            p.drain(cfg["drain_timeout"])
        except AssertionError:
            print("[throughput] the backlog did not drain; stopping the steps", flush=True)
            break
    return steps


def main(argv: list[str] | None = None) -> int:
    # Settings are environment variables (above); the command line only has --help, so that
    # asking for it prints them instead of starting a 30-minute run.
    argparse.ArgumentParser(
        prog="python -m devtools.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args(argv)
    cfg = config()
    t0 = time.monotonic()
    # The stage benchmark runs Spark in this process: the same Java as the job's.
    os.environ.setdefault("JAVA_HOME", versions()["JAVA_HOME_SPARK"])
    run_id = uuid.uuid4().hex[:8]
    workdir = state_dir() / "bench" / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"benchmark run {run_id}; logs in {workdir}", flush=True)
    results: dict[str, Any] = {
        "config": cfg,
        "machine": machine_info(command_line(cfg)),
        "notes": [],
        "latency": {},
        "steps": {},
        "sustained": {},
        "startup": {},
        # CPU over measured windows, by model: "idle", "50", "1000" (latency part), "50 warm"
        # (the job steady_age old), "max" (the highest sustained throughput step).
        "cost": {model: {} for model in cfg["e2e_models"]},
        # What the job ships (index template, settings model): named on the page.
        "es_defaults": es_bench.shipped_defaults(),
    }
    # Up to 4 min for the previous part's own load to fade before the next one starts.
    loads = LoadLog(settle_seconds=240.0)
    results["loads"] = loads.parts
    if cfg["quick"]:
        results["notes"].append(
            "BENCH_QUICK=1 smoke run: single runs, small data, short windows; not representative."
        )
    if os.environ.get("BENCH_NOTE"):
        results["notes"].append(os.environ["BENCH_NOTE"])

    if "stage" not in cfg["skip"]:
        print("[stage] sentiment stage throughput", flush=True)
        with loads.part("stage"):
            results["stage"] = stage.run(
                cfg["posts"], cfg["models"], cfg["runs"], workdir, cfg["stage_partitions"]
            )

    if "languages" not in cfg["skip"]:
        print("[languages] one core, clean + identify + score of our sample mix", flush=True)
        with loads.part("languages"):
            results["languages"] = languages.run([DEFAULT_MODEL, TWEET_MODEL])

    need_e2e = not {"latency", "throughput"} <= cfg["skip"]
    need_es = "es" not in cfg["skip"]
    if need_e2e or need_es:
        kafka, es = KafkaBroker(), ElasticsearchNode()
        started: list[KafkaBroker | ElasticsearchNode] = []
        try:
            for svc in (kafka, es) if need_e2e else (es,):
                if svc.up():
                    started.append(svc)
            if need_es:
                run_es(cfg, results, es.url, run_id, loads)
            if need_e2e:
                env = e2e.Env(
                    kafka.bootstrap,
                    es.url,
                    ",".join(str(j) for j in spark_job_jars()),
                    workdir,
                    run_id,
                    service_pids={
                        "Kafka": lambda: kafka.pid() or pid_listening(kafka.port),
                        "Elasticsearch": lambda: es.pid() or pid_listening(es.port),
                    },
                )
                run_e2e(cfg, results, env, loads)
        except ServiceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            for svc in started:
                svc.down()

    results["breakdown"] = breakdown.from_run(workdir, cfg["latency_model"])
    results["machine"]["load average at end (1/5/15 min)"] = load_average()
    results["machine"]["calibration at end (one core)"] = describe(calibration())
    results["wall_minutes"] = (time.monotonic() - t0) / 60
    write, message = gate(loads, allow_busy())
    if not write:
        # Keep what was measured, but not as the project's report.
        kept = workdir / "benchmarks.md"
        kept.write_text(render(results))
        print(f"error: {message}\n(the page of this run is in {kept})", file=sys.stderr, flush=True)
        return 3
    results["warning"] = message
    cfg["output"].write_text(render(results))
    print(f"wrote {cfg['output']} after {results['wall_minutes']:.1f} min", flush=True)
    return 0
