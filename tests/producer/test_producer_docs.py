"""docs/producer.md and docs/design.md say what the code does: every setting, every metric."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from tests.producer.producer_helpers import REPO_ROOT
from tweet_producer.metrics import Metrics
from tweet_producer.settings import Settings

PRODUCER_DOC = (REPO_ROOT / "docs" / "producer.md").read_text()
DESIGN = (REPO_ROOT / "docs" / "design.md").read_text()


def table_names(markdown: str, heading: str) -> list[str]:
    """The backticked names in the first column of the table under `heading`."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| `([a-zA-Z_]+)`", section, re.M)]


def metric_names() -> set[str]:
    registry = CollectorRegistry()
    Metrics("replay", registry=registry)
    names = set()
    for family in registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        names.add(family.name + suffix)
    return names


def test_every_setting_is_in_the_configuration_table() -> None:
    documented = table_names(PRODUCER_DOC, "## Configuration")
    assert sorted(documented) == sorted(name.upper() for name in Settings.model_fields)


def test_the_metrics_table_is_exactly_the_metrics() -> None:
    assert set(table_names(PRODUCER_DOC, "## Metrics and health")) == metric_names()


def test_design_lists_exactly_the_producer_metrics() -> None:
    section = DESIGN.split("Producer (port 9108):", 1)[1].split("Job driver", 1)[0]
    listed = set(re.findall(r"`(producer_[a-z_]+)", section))
    assert listed == metric_names()
