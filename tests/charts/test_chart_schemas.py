"""Every rendered chart object and every manifest in k8s/ passes strict schema validation:
custom resources against the operators' CRD schemas (shared/crds/jsonschema, by Python and
by kubeconform -strict), core objects against Kubernetes' own strict schemas
(kubernetes-validate). A kind without a schema fails."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.charts.checks import K8S_DIR, is_custom_resource, kind_name, load_docs, schema_errors
from tests.charts.conftest import VARIANTS


def k8s_manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.rglob("*.yaml") if p.name != "kustomization.yaml")


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rendered_chart_objects_are_schema_valid(
    rendered, crd_dir: Path, kube_version: str, variant: str
) -> None:
    errors = [e for doc in rendered[variant] for e in schema_errors(doc, crd_dir, major_minor(kube_version))]
    assert errors == []


@pytest.mark.parametrize("path", k8s_manifest_files(), ids=lambda p: str(p.relative_to(K8S_DIR)))
def test_k8s_manifests_are_schema_valid(path: Path, crd_dir: Path, kube_version: str) -> None:
    docs = load_docs(path.read_text())
    assert docs, f"{path} holds no object"
    errors = [e for doc in docs for e in schema_errors(doc, crd_dir, major_minor(kube_version))]
    assert errors == []


def test_kubeconform_strict_on_custom_resources(
    rendered_text, kubeconform: Path, crd_dir: Path, tmp_path: Path
) -> None:
    """The same custom resources through kubeconform -strict, as CI tools elsewhere would run it.
    Core kinds are checked above (kubeconform's built-in schemas need the network)."""
    docs = [d for text in rendered_text.values() for d in load_docs(text)]
    docs += [d for path in k8s_manifest_files() for d in load_docs(path.read_text())]
    custom = [d for d in docs if is_custom_resource(d, crd_dir)]
    assert {d["kind"] for d in custom} >= {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "Elasticsearch",
        "Kibana",
        "SparkApplication",
        "PodMonitor",
        "ServiceMonitor",
        "PrometheusRule",
    }
    target = tmp_path / "custom.yaml"
    target.write_text(yaml.safe_dump_all(custom, sort_keys=False))
    proc = run_kubeconform(kubeconform, crd_dir, target)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Valid: {len(custom)}" in proc.stdout, proc.stdout


def run_kubeconform(kubeconform: Path, crd_dir: Path, target: Path) -> subprocess.CompletedProcess[str]:
    location = f"{crd_dir}/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json"
    cmd = [
        str(kubeconform),
        "-strict",
        "-summary",
        "-output",
        "text",
        "-schema-location",
        location,
        str(target),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_kubeconform_fails_an_unknown_kind(kubeconform: Path, crd_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "unknown.yaml"
    target.write_text("apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata:\n  name: old\nspec: {}\n")
    proc = run_kubeconform(kubeconform, crd_dir, target)
    assert proc.returncode != 0
    assert "could not find schema for Kafka" in proc.stdout + proc.stderr


def test_unknown_core_kind_fails(crd_dir: Path) -> None:
    doc = {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schema_errors(doc, crd_dir, "1.30") == [
        "Widget/w: no schema for example.org/v1 Widget (Kubernetes 1.30)"
    ]
    assert kind_name(doc) == "Widget/w"
