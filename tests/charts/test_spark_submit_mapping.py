"""The chart's SparkApplication, turned into what spark-operator would run (devtools.cluster.spark_submit).

The cluster tests (tests/k8s) submit the job this way; these tests pin the mapping to the
rendered chart without a cluster: every field the operator passes on reaches spark-submit
or the pod templates, and the pods would pass the restricted Pod Security level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools.cluster.spark_submit import build, pod_template
from tests.charts.checks import one, restricted_pod_findings


def _confs(args: list[str]) -> dict[str, str]:
    pairs = [args[i + 1] for i, a in enumerate(args) if a == "--conf"]
    return dict(p.split("=", 1) for p in pairs)


@pytest.fixture
def app(rendered: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return one(rendered["default"], "SparkApplication")


def test_submit_arguments_carry_the_spec(app: dict[str, Any], tmp_path: Path) -> None:
    sub = build(app, "k8s://https://10.0.0.1:6443", tmp_path, submission_id="sid-1")
    spec = app["spec"]
    confs = _confs(sub.args)
    assert sub.args[:6] == [
        "--master",
        "k8s://https://10.0.0.1:6443",
        "--deploy-mode",
        "cluster",
        "--name",
        app["metadata"]["name"],
    ]
    assert sub.args[-1] == spec["mainApplicationFile"]
    assert confs["spark.kubernetes.namespace"] == app["metadata"]["namespace"]
    assert confs["spark.kubernetes.container.image"] == spec["image"]
    assert confs["spark.kubernetes.container.image.pullPolicy"] == spec["imagePullPolicy"]
    assert confs["spark.kubernetes.submission.waitAppCompletion"] == "false"
    assert confs["spark.kubernetes.driver.pod.name"] == f"{app['metadata']['name']}-driver"
    for key, value in (spec.get("sparkConf") or {}).items():
        assert confs[key] == str(value)
    for role in ("driver", "executor"):
        r = spec[role]
        assert confs[f"spark.{role}.cores"] == str(r["cores"])
        assert confs[f"spark.kubernetes.{role}.limit.cores"] == r["coreLimit"]
        assert confs[f"spark.{role}.memory"] == r["memory"]
        assert confs[f"spark.kubernetes.authenticate.{role}.serviceAccountName"] == r["serviceAccount"]
        assert confs[f"spark.kubernetes.{role}.label.sparkoperator.k8s.io/submission-id"] == "sid-1"
        for key, value in r["labels"].items():
            assert confs[f"spark.kubernetes.{role}.label.{key}"] == value
        # The operator passes only spark-local-dir-* volumes as confs; the webhook adds the rest.
        assert confs[f"spark.kubernetes.{role}.volumes.emptyDir.spark-local-dir-tmp.mount.path"] == "/tmp"
        assert Path(confs[f"spark.kubernetes.{role}.podTemplateFile"]).is_file()
    assert confs["spark.executor.instances"] == str(spec["executor"]["instances"])


def test_pod_templates_carry_what_the_webhook_patches(app: dict[str, Any]) -> None:
    spec = app["spec"]
    for role in ("driver", "executor"):
        template = pod_template(app, role)
        pod = template["spec"]
        container = pod["containers"][0]
        assert container["env"] == spec[role]["env"]
        assert container["securityContext"] == spec[role]["securityContext"]
        assert pod["securityContext"] == spec[role]["podSecurityContext"]
        mounted = {m["name"] for m in container["volumeMounts"]}
        assert "checkpoints" in mounted
        assert "es-user" in mounted
        assert not any(n.startswith("spark-local-dir-") for n in mounted)
        assert {v["name"] for v in pod["volumes"]} == mounted
        assert restricted_pod_findings(f"{role} template", pod) == []
    assert pod_template(app, "driver")["spec"]["containers"][0]["ports"] == spec["driver"]["ports"]


def test_refuses_what_it_cannot_run(app: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SparkApplication"):
        build({**app, "kind": "Deployment"}, "k8s://x", tmp_path)
    with pytest.raises(ValueError, match="cluster"):
        build({**app, "spec": {**app["spec"], "mode": "client"}}, "k8s://x", tmp_path)
