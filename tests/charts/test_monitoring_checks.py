"""The monitoring checks (tests/charts/monitoring_checks.py) on inputs made to fail: each check
finds what is wrong in a deliberately broken copy under tests/charts/monitoring/bad/, so a
check that could never fail would show; PromQL that does not parse or reads a metric nobody
emits is reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.charts.monitoring_checks import (
    check_dashboard,
    check_rule_test_coverage,
    check_rules,
    check_saved_objects,
    emitted_series,
    grafana_exprs,
    markdown_anchors,
    parse_ndjson,
    promql_metric_names,
    recording_names,
    rule_exprs,
    unknown_metrics,
)

BAD = Path(__file__).resolve().parent / "monitoring" / "bad"
RUNBOOK = Path(__file__).resolve().parents[2] / "charts" / "tweet-sentiment" / "files" / "RUNBOOK.md"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (namespace, le) (rate(a_bucket{le=~"2(\\\\.0)?", job="x"}[5m]))', {"a_bucket"}),
        ("time() - max by (namespace) (b_seconds) > 600", {"b_seconds"}),
        ("a and on (namespace) (b > 0 or sum(increase(c_total[10m])) > 0)", {"a", "b", "c_total"}),
        (
            'histogram_quantile(0.99, sum(rate(x_bucket{ns="$namespace"}[$__rate_interval])) by (le))',
            {"x_bucket"},
        ),
        ('count(ALERTS{alertstate="firing"}) or vector(0)', {"ALERTS"}),
        ("rate(x_total[5m] offset 1h) / ignoring(pod) group_left(source) y", {"x_total", "y"}),
        ("a * on(job) group_right b", {"a", "b"}),
        ("tweet_sentiment:e2e:ratio_rate1h > (14.4 * 0.01)", {"tweet_sentiment:e2e:ratio_rate1h"}),
        ('{__name__="raw_metric", job="x"}', {"raw_metric"}),
        ("max_over_time(up[1h:5m]) unless absent(z)", {"up", "z"}),
        ("sum without (instance) (m) / 1e3", {"m"}),
    ],
)
def test_promql_metric_names(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(x_total[5m])",  # unclosed parenthesis
        "rate(x_total)",  # a range function on an instant vector
        "a and on (job) group_left b",  # no group_left on set operators
        "x_total{job=}",
        "no_such_function(x_total)",
        "",
    ],
)
def test_promql_that_does_not_parse_is_reported(expr: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        promql_metric_names(expr)
    (problem,) = unknown_metrics([("here", expr)], {"x_total", "a", "b"})
    assert problem.startswith("here: does not parse:"), problem


def test_unknown_metrics_are_reported_known_ones_are_not() -> None:
    exprs = [("r1", "a + b_total / on(job) c"), ("r2", 'sum by (le) (rate({__name__="d_bucket"}[5m]))')]
    assert unknown_metrics(exprs, {"a", "c"}) == [
        "r1: unknown metric 'b_total'",
        "r2: unknown metric 'd_bucket'",
    ]
    assert unknown_metrics(exprs, {"a", "b_total", "c", "d_bucket"}) == []


def test_checks_catch_broken_rules() -> None:
    bad = yaml.safe_load((BAD / "prometheus-rules.yaml").read_text())
    problems = check_rules(bad, markdown_anchors(RUNBOOK.read_text()))
    assert any("NoSeverity: severity label None" in p for p in problems), problems
    assert any("NoRunbook: missing annotation runbook_url" in p for p in problems), problems
    assert any("WrongRunbook: runbook_url" in p for p in problems), problems
    assert any("BadName: alert names start with TweetSentiment" in p for p in problems), problems
    assert any("bad_record: recording rule names" in p for p in problems), problems
    assert unknown_metrics(rule_exprs(bad), emitted_series() | recording_names(bad)) == [
        "rule TweetSentimentNoSeverity: unknown metric 'sentiment_job_offsets_behind'",
    ]
    coverage = check_rule_test_coverage(bad, yaml.safe_load((BAD / "prometheus-rules.test.yaml").read_text()))
    assert "TweetSentimentNoSeverity: no unit test where it stays quiet" in coverage
    assert "TweetSentimentNoRunbook: no unit test where it fires" in coverage
    assert "unit tests name unknown alert 'TweetSentimentRenamed'" in coverage


def test_checks_catch_a_broken_dashboard() -> None:
    bad = json.loads((BAD / "grafana-dashboard.json").read_text())
    problems = check_dashboard(bad)
    expected = [
        "templating needs a DS_PROMETHEUS variable",
        "panel 2 'Wrong datasource': datasource must be ${DS_PROMETHEUS}",
        "panel 3 'No grid position': gridPos needs integer h, w, x, y",
        "panel id 4 is used 2 times",
        "panel 4 'Duplicate id' overlaps panel 4 'Overlapping'",
        "undefined variable $namspace",
    ]
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    assert unknown_metrics(grafana_exprs(bad), emitted_series()) == [
        "panel 1 'Typo in a metric' target A: unknown metric 'producer_posts_recieved_total'",
        "panel 3 'No grid position' target A: does not parse: unclosed left parenthesis",
    ]


def test_checks_catch_broken_saved_objects() -> None:
    objects, problems = parse_ndjson((BAD / "kibana-saved-objects.ndjson").read_text())
    fields = {
        "created_at": "date", "sentiment": "keyword", "polarity": "float", "text": "text",
        "text.keyword": "keyword", "lang": "keyword", "source": "keyword",
    }  # fmt: skip
    problems += check_saved_objects(objects, fields)
    expected = [
        "line 8: not JSON",
        "line 9: no attributes",
        "index-pattern bad-data-view: title 'tweets-sentiment*' also covers 'tweets-sentiment-deadletter'",
        "index-pattern bad-data-view timeFieldName: field '@timestamp' is not in the index template",
        "lens bad-unknown-field column c1: field 'sentiment_label' is not in the index template",
        "lens bad-unknown-field: visualization uses column 'missing' that no layer defines",
        "lens bad-text-terms column c1: field 'text' is text, the operation needs one of",
        "lens bad-text-terms query: field 'author' is not in the index template",
        "lens bad-no-layer-ref: layer l1 has no index-pattern reference",
        "lens bad-no-layer-ref: no typeMigrationVersion",
        "search bad-search column: field 'user' is not in the index template",
        "search bad-search sort: field 'timestamp' is not in the index template",
        "search bad-search: reference 'kibanaSavedObjectMeta.searchSourceJSON.index' to missing index-pattern",
        "dashboard bad-dashboard panel p2: panelRefName 'panel_p2' has no reference",
        "dashboard bad-dashboard panel p3: panel type 'lens' but the reference is a 'search'",
        "dashboard bad-dashboard panel p1 overlaps dashboard bad-dashboard panel p3",
        "dashboard bad-dashboard: reference 'p4:panel_p4' to missing lens 'gone'",
    ]
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
