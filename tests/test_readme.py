"""The README is the front door: its commands, settings and metrics must match the code."""

from __future__ import annotations

import re

import pytest

from tests.charts.checks import job_setting_names, producer_setting_names
from tests.charts.test_monitoring import component_metrics
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
# Dev-only knobs the job's settings module also reads (cache paths), not user settings.
DEV_ONLY = {"TS_CACHE_DIR", "XDG_CACHE_HOME", "HOME", "SPARK_HOME", "PYSPARK_PYTHON"}


def test_demo_is_the_first_command_and_test_the_second() -> None:
    demo, test = README.find("make demo"), README.find("make test")
    assert 0 <= demo < test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_top_level_layout() -> None:
    for path in ("charts", "images/producer", "images/spark-job", "k8s/strimzi", "k8s/eck", "tests", "docs"):
        assert (REPO_ROOT / path).is_dir(), path
    for path in ("Makefile", "README.md", ".ci/run", "versions.env", "constraints.txt"):
        assert (REPO_ROOT / path).is_file(), path


def test_architecture_diagram_is_mermaid() -> None:
    assert "```mermaid" in README


@pytest.mark.parametrize(
    ("component", "names"),
    [("producer", producer_setting_names), ("job", job_setting_names)],
)
def test_every_setting_is_documented(component: str, names) -> None:  # type: ignore[no-untyped-def]
    missing = sorted(n for n in names() - DEV_ONLY if not n.endswith("_") and f"`{n}`" not in README)
    assert not missing, f"{component} settings missing from README.md: {missing}"


@pytest.mark.parametrize("component", ["producer", "job"])
def test_every_metric_is_documented(component: str) -> None:
    metrics, source = component_metrics(component)
    assert source.endswith(".py"), "metrics must come from the code, not from docs"
    missing = sorted(name for name in metrics if f"`{name}`" not in README)
    assert not missing, f"{component} metrics missing from README.md: {missing}"


def test_readme_links_resolve() -> None:
    broken = [
        target
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README)
        if not (REPO_ROOT / target).exists()
    ]
    assert not broken, broken


def test_key_values_exist_in_the_chart() -> None:
    chart = (REPO_ROOT / "charts" / "tweet-sentiment" / "README.md").read_text()
    section = README[README.index("### Key values") : README.index("## Configuration")]
    keys = {
        k
        for k in re.findall(r"\| `([a-zA-Z]+(?:\.[a-zA-Z]+)+)`", section)
        if not k.endswith((".yaml", ".json"))
    }
    keys |= set(re.findall(r"`([a-zA-Z]+\.[a-zA-Z.]+)`,", section))
    assert keys
    unknown = sorted(k for k in keys if f"| `{k}`" not in chart and not k.endswith("*"))
    assert not unknown, unknown
