"""Security lint of the rendered chart: checkov (pinned, own venv, offline) with the
Kubernetes framework finds nothing, every skip carries a reason, and our own restricted-pod
policy (which also covers the SparkApplication's driver and executors, a kind checkov does
not know) finds nothing either."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.charts.checks import kind_name, pod_specs, restricted_pod_findings
from tests.charts.conftest import SHIPPED, VARIANTS

SKIP_ANNOTATION = re.compile(r"^checkov\.io/skip\d+$")
SKIP_VALUE = re.compile(r"^CKV2?_K8S_\d+=(?P<reason>.+)$")


@pytest.fixture(scope="session")
def checkov_report(checkov_reports: dict[str, dict]) -> dict:
    return checkov_reports["rendered"]


def test_checkov_finds_nothing(checkov_report: dict, rendered) -> None:
    summary = checkov_report["summary"]
    assert summary.get("parsing_errors", 0) == 0
    # It really looked: at least every core object of the three renders (plus bad/).
    core = sum(
        1
        for name in SHIPPED
        for d in rendered[name]
        if "." not in d["apiVersion"].split("/")[0] or d["apiVersion"].startswith(("rbac.", "networking."))
    )
    assert summary["resource_count"] >= core
    failed = [
        f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name}): {c['check_name']}"
        for c in checkov_report["failed_checks"]
    ]
    assert failed == []


def test_every_checkov_skip_is_justified(rendered, checkov_report: dict) -> None:
    seen = 0
    for name in SHIPPED:
        for doc in rendered[name]:
            for key, value in (doc["metadata"].get("annotations") or {}).items():
                if key.startswith("checkov.io/"):
                    assert SKIP_ANNOTATION.match(key), f"{kind_name(doc)}: {key}"
                    match = SKIP_VALUE.match(value)
                    assert match, f"{kind_name(doc)}: {key} is not CKV_K8S_<n>=<reason>"
                    assert len(match.group("reason")) >= 30, f"{kind_name(doc)}: {key} needs a reason"
                    seen += 1
    assert len(checkov_report.get("skipped_checks", [])) == seen


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_restricted_pod_policy(rendered, variant: str) -> None:
    findings = [
        f
        for doc in rendered[variant]
        for label, spec in pod_specs(doc)
        for f in restricted_pod_findings(label, spec)
    ]
    assert findings == []
    for doc in rendered[variant]:
        for label, spec in pod_specs(doc):
            if doc["kind"] != "SparkApplication":
                assert spec.get("automountServiceAccountToken") is False, f"{label} mounts an API token"
