"""One retention for every copy of the topics (issue 18): the Strimzi manifests, the chart's
`kafka.topics` defaults and the local topics all take `tweet_sentiment_common.retention`, and
the bound docs/deletions.md states follows from it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from devtools import demo
from tests.charts.checks import CHART_DIR, K8S_DIR, by_kind, load_docs
from tests.conftest import unique
from tweet_sentiment_common import retention


def test_the_bound_is_under_24_hours() -> None:
    bound = retention.forget_bound_ms()
    assert bound == retention.SEGMENT_MS + retention.RETENTION_MS + retention.RETENTION_CHECK_INTERVAL_MS
    assert bound <= retention.FORGET_BOUND_MS == 24 * 3_600_000


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_strimzi_topics_take_the_retention(variant: str) -> None:
    topics = by_kind(
        load_docs((K8S_DIR / "strimzi" / variant / f"topics-{variant}.yaml").read_text()), "KafkaTopic"
    )
    assert {t["metadata"]["name"] for t in topics} == {"posts", "posts.deadletter"}
    for topic in topics:
        config = topic["spec"]["config"]
        assert {k: str(config[k]) for k in retention.TOPIC_CONFIGS} == retention.TOPIC_CONFIGS


def test_chart_defaults_take_the_retention() -> None:
    topics = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["kafka"]["topics"]
    assert topics["retentionMs"] == retention.RETENTION_MS
    assert topics["segmentMs"] == retention.SEGMENT_MS


@pytest.mark.kafka
def test_local_topics_take_the_retention(kafka_bootstrap: str, kafka_admin: Any) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    name = unique("retention")
    demo.ensure_topics(kafka_bootstrap, [name], 1, reset=False)
    try:
        described = kafka_admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        entries = described["topic"][name]
        assert {k: entries[k]["value"] for k in retention.TOPIC_CONFIGS} == retention.TOPIC_CONFIGS
    finally:
        kafka_admin.delete_topics([name])


def test_docs_state_the_bound() -> None:
    text = (CHART_DIR.parents[1] / "docs" / "deletions.md").read_text()
    assert "24 hours" in text
    assert f"{retention.RETENTION_MS // 3_600_000} hours" in text
