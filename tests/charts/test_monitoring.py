"""Monitoring as code: the alert and recording rules, the Grafana dashboard and the Kibana saved
objects in charts/tweet-sentiment/files, checked offline.

- promtool checks the rule file and runs its unit tests (files/prometheus-rules.test.yaml);
- every metric an alert, a recording rule or a panel reads is one our code registers (read from
  the producer's and the job's prometheus_client registries), a recording rule of ours, or on a short allow-list of exporters;
- the Kibana objects only use fields of the index template the job installs (whose top-level
  fields are the contract's `Document` model), and every reference between them resolves.

The checks are in tests/charts/monitoring_checks.py, with tests of their own
(tests/charts/test_monitoring_checks.py); this file runs them on our artefacts.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.services import tools
from tests.charts.monitoring_checks import (
    COMPONENTS,
    DS_UID,
    ES_INDEX,
    alert_names,
    check_dashboard,
    check_rule_test_coverage,
    check_rules,
    check_saved_objects,
    component_metrics,
    datasource_uid,
    emitted_series,
    grafana_exprs,
    grafana_panels,
    iter_rules,
    markdown_anchors,
    parse_ndjson,
    promql_metric_names,
    promtool_rule_file,
    recording_names,
    rule_exprs,
    series_names,
    template_fields,
    unknown_metrics,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FILES = REPO_ROOT / "charts" / "tweet-sentiment" / "files"
RULES = FILES / "prometheus-rules.yaml"
RULE_TESTS = FILES / "prometheus-rules.test.yaml"
RUNBOOK = FILES / "RUNBOOK.md"
DASHBOARD = FILES / "grafana-dashboard.json"
SAVED_OBJECTS = FILES / "kibana-saved-objects.ndjson"
JOB_RESOURCES = REPO_ROOT / "images" / "spark-job" / "src" / "sentiment_job" / "resources"
SLO_SECONDS = 2.0

# Metrics we read but do not emit, and who emits them. Kept short on purpose: a name here is
# not checked against anything, and test_external_metrics_are_used keeps the list honest.
EXTERNAL_METRICS = {
    "kafka_topic_partition_current_offset": "Strimzi Kafka Exporter",
    "kafka_consumergroup_lag": "Strimzi Kafka Exporter",
    "jvm_memory_used_bytes": "JMX exporter 1.x agent on the Spark driver",
    "jvm_memory_max_bytes": "JMX exporter 1.x agent on the Spark driver",
    "jvm_memory_bytes_used": "JMX exporter 0.x agent on the Spark driver",
    "jvm_memory_bytes_max": "JMX exporter 0.x agent on the Spark driver",
    "ALERTS": "Prometheus (firing and pending alerts)",
}


def document_fields() -> tuple[dict[str, str | None], str]:
    """(fields of the posts index with their types, where they came from): the index template
    the job installs for ES_INDEX, whose top-level fields must be the contract's Document."""
    from tweet_sentiment_common.contract import DOCUMENT_FIELDS

    templates = [json.loads(p.read_text()) for p in sorted(JOB_RESOURCES.glob("*.json"))]
    fields = template_fields(templates, ES_INDEX)
    assert fields is not None, f"no index template in {JOB_RESOURCES} matches {ES_INDEX!r}"
    top_level = {f for f in fields if "." not in f}
    assert top_level == set(DOCUMENT_FIELDS), "the index template and contract.Document disagree"
    return dict(fields), str(JOB_RESOURCES.relative_to(REPO_ROOT))


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> Path:
    try:
        return tools.promtool_bin()
    except tools.ToolError as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


def run_promtool(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def rules_doc() -> dict[str, Any]:
    return yaml.safe_load(RULES.read_text())


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


@pytest.fixture(scope="module")
def saved_objects() -> list[dict[str, Any]]:
    objects, problems = parse_ndjson(SAVED_OBJECTS.read_text())
    assert problems == []
    return objects


@pytest.fixture(scope="module")
def known_metrics(rules_doc: dict[str, Any]) -> set[str]:
    return emitted_series() | recording_names(rules_doc) | set(EXTERNAL_METRICS)


# ---- tests: Prometheus rules --------------------------------------------------------------------


def test_promtool_check_rules(promtool: Path) -> None:
    proc = run_promtool(promtool, "check", "rules", RULES.name, cwd=FILES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_unit_tests(promtool: Path) -> None:
    proc = run_promtool(promtool, "test", "rules", RULE_TESTS.name, cwd=FILES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_is_unit_tested_firing_and_quiet(rules_doc: dict[str, Any]) -> None:
    assert check_rule_test_coverage(rules_doc, yaml.safe_load(RULE_TESTS.read_text())) == []


def test_rule_conventions(rules_doc: dict[str, Any]) -> None:
    assert check_rules(rules_doc, markdown_anchors(RUNBOOK.read_text())) == []


def test_alert_coverage(rules_doc: dict[str, Any]) -> None:
    """The alerts the pipeline needs exist (renaming one is a change to review)."""
    assert set(alert_names(rules_doc)) >= {
        "TweetSentimentProducerDisconnected",
        "TweetSentimentNoPosts",
        "TweetSentimentProducerReconnectStorm",
        "TweetSentimentProducerPublishErrors",
        "TweetSentimentProducerKafkaNotReady",
        "TweetSentimentProducerDeadLetterRate",
        "TweetSentimentJobFallingBehind",
        "TweetSentimentJobStalled",
        "TweetSentimentJobMetricsMissing",
        "TweetSentimentJobBatchFailures",
        "TweetSentimentJobDeadLetterRate",
        "TweetSentimentElasticsearchRejections",
        "TweetSentimentEndToEndLatencyHigh",
        "TweetSentimentLatencySLOBurnRateFast",
        "TweetSentimentLatencySLOBurnRateSlow",
    }


def test_rules_read_only_known_metrics(rules_doc: dict[str, Any], known_metrics: set[str]) -> None:
    assert unknown_metrics(rule_exprs(rules_doc), known_metrics) == []


# ---- tests: metrics in the code -----------------------------------------------------------------


def test_latency_histogram_has_the_slo_bucket() -> None:
    """The SLO recording rules count observations in the le="2.0" bucket: without that bucket
    boundary the error ratio is empty and the burn-rate alerts can never fire."""
    metrics, source = component_metrics("job")
    latency = metrics["sentiment_job_end_to_end_latency_seconds"]
    assert latency.kind == "histogram"
    assert SLO_SECONDS in latency.buckets, (
        f"{source}: sentiment_job_end_to_end_latency_seconds buckets {latency.buckets} lack {SLO_SECONDS}"
    )


# ---- tests: Grafana -----------------------------------------------------------------------------


def test_dashboard_structure(dashboard: dict[str, Any]) -> None:
    assert check_dashboard(dashboard) == []
    assert dashboard["uid"] == "tweet-sentiment"
    assert dashboard["schemaVersion"] >= 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["namespace"]["type"] == "query"
    assert datasource_uid(variables["namespace"]["datasource"]) == DS_UID


def test_dashboard_reads_only_known_metrics(dashboard: dict[str, Any], known_metrics: set[str]) -> None:
    assert unknown_metrics(grafana_exprs(dashboard), known_metrics) == []


def test_dashboard_shows_every_metric_we_emit(dashboard: dict[str, Any], rules_doc: dict[str, Any]) -> None:
    """Every hop is on the dashboard: each metric of the producer and the job is read by a
    panel, directly or through one of our recording rules."""
    recorded_from = {
        rule["record"]: promql_metric_names(rule["expr"])
        for _, rule in iter_rules(rules_doc)
        if "record" in rule
    }
    shown: set[str] = set()
    for _, expr in grafana_exprs(dashboard):
        for name in promql_metric_names(expr):
            shown |= {name} | recorded_from.get(name, set())
    missing = [
        metric.name
        for component in COMPONENTS
        for metric in component_metrics(component)[0].values()
        if not series_names(metric) & shown
    ]
    assert missing == []
    assert "kafka_consumergroup_lag" in shown


def test_dashboard_has_a_language_view(dashboard: dict[str, Any]) -> None:
    """Posts by language, and scored against Unsupported (overall and per language)."""
    exprs = [" ".join(expr.split()) for _, expr in grafana_exprs(dashboard)]
    by_language = [e for e in exprs if "sentiment_job_posts_by_language_total" in e]
    assert any("by (lang)" in e and "outcome=" not in e for e in by_language), by_language
    assert any("by (outcome)" in e for e in by_language), by_language
    assert any("by (lang)" in e and 'outcome="unsupported"' in e for e in by_language), by_language
    titles = {p.get("title") for p in grafana_panels(dashboard) if p.get("type") == "row"}
    assert "Languages" in titles


def test_dashboard_queries_parse(promtool: Path, dashboard: dict[str, Any], tmp_path: Path) -> None:
    rule_file = tmp_path / "dashboard-queries.yaml"
    rule_file.write_text(yaml.safe_dump(promtool_rule_file(grafana_exprs(dashboard))))
    proc = run_promtool(promtool, "check", "rules", rule_file.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_external_metrics_are_used(rules_doc: dict[str, Any], dashboard: dict[str, Any]) -> None:
    used = {n for _, e in rule_exprs(rules_doc) + grafana_exprs(dashboard) for n in promql_metric_names(e)}
    assert set(EXTERNAL_METRICS) - used == set()


# ---- tests: Kibana ------------------------------------------------------------------------------


def test_saved_objects_are_consistent(saved_objects: list[dict[str, Any]]) -> None:
    fields, source = document_fields()
    assert check_saved_objects(saved_objects, fields) == [], f"fields from {source}"


def test_saved_objects_content(saved_objects: list[dict[str, Any]]) -> None:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in saved_objects:
        assert obj["id"].startswith("tweet-sentiment-"), obj["id"]
        by_type.setdefault(obj["type"], []).append(obj)
    (data_view,) = by_type["index-pattern"]
    assert data_view["attributes"]["title"].split(",")[0] == "tweets-sentiment*"
    assert data_view["attributes"]["timeFieldName"] == "created_at"
    (search,) = by_type["search"]
    columns = ["created_at", "sentiment", "polarity", "confidence", "text", "lang", "source"]
    assert search["attributes"]["columns"] == columns
    assert search["attributes"]["sort"] == [["created_at", "desc"]]
    (board,) = by_type["dashboard"]
    attributes = board["attributes"]
    assert attributes["refreshInterval"] == {"pause": False, "value": 10000}
    assert attributes["timeRestore"] is True
    assert (attributes["timeFrom"], attributes["timeTo"]) == ("now-1h", "now")
    on_board = {ref["id"] for ref in board["references"]}
    assert {o["id"] for o in by_type["lens"] + by_type["search"]} <= on_board

    def operations(lens: dict[str, Any]) -> set[tuple[str, str]]:
        layers = lens["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values()
        return {
            (c["operationType"], c.get("sourceField", ""))
            for layer in layers
            for c in layer["columns"].values()
        }

    charts = [(lens["attributes"]["visualizationType"], operations(lens), lens) for lens in by_type["lens"]]
    (over_time,) = [lens for _, ops, lens in charts if ("date_histogram", "created_at") in ops]
    assert ("terms", "sentiment") in operations(over_time)
    assert over_time["attributes"]["state"]["visualization"]["preferredSeriesType"] == "bar_stacked"
    assert any(kind == "lnsPie" and ("terms", "sentiment") in ops for kind, ops, _ in charts)
    assert any(("range", "polarity") in ops for _, ops, _ in charts)
    # By language: the language scored as where documents record it, else the source's tag.
    (by_language,) = [
        lens for _, ops, lens in charts if ops & {("terms", "sentiment_lang"), ("terms", "lang")}
    ]
    assert ("terms", "sentiment") in operations(by_language)
    assert by_language["attributes"]["state"]["visualization"]["preferredSeriesType"].endswith("_stacked")
