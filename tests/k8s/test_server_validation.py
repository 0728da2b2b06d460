"""Every manifest we ship, and every chart values variant, accepted by a real API server.

Server-side dry run (`kubectl apply --dry-run=server --validate=strict`) against Kubernetes
1.34 with the pinned operator CRDs installed, in a namespace that enforces (and warns about)
the `restricted` Pod Security level: admission, strict field validation, the CRDs' OpenAPI
schemas and Pod Security all run, nothing is persisted. Any warning fails the test. The
`bad/` manifests carry a `# server:` line saying what the server itself must do with them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.services import tools
from devtools.services.common import versions
from tests.charts.checks import CHART_DIR
from tests.charts.conftest import BAD_MANIFESTS, RELEASE, VARIANTS
from tests.k8s.conftest import Kubectl

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "ts-validate"
KUSTOMIZATIONS = sorted(p.parent for p in (REPO_ROOT / "k8s").rglob("kustomization.yaml"))


pytestmark = pytest.mark.k8s


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    try:
        return tools.helm_bin()
    except tools.ToolError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def restricted_namespace(kubectl: Kubectl, crds_installed: None) -> str:
    manifest = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {
                f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")
            },
        },
    }
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    return NAMESPACE


def dry_run(kubectl: Kubectl, text: str, namespace: str) -> subprocess.CompletedProcess[str]:
    return kubectl(
        "apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-", stdin=text, check=False
    )


def assert_accepted(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, f"{what} rejected by the API server:\n{proc.stderr}"
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning")]
    assert not warnings, f"{what}: the API server warned:\n" + "\n".join(warnings)
    assert "(server dry run)" in proc.stdout, proc.stdout


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(REPO_ROOT / "k8s")))
def test_kustomization_is_accepted(kubectl: Kubectl, restricted_namespace: str, path: Path) -> None:
    built = kubectl("kustomize", str(path))
    assert_accepted(
        dry_run(kubectl, built.stdout, restricted_namespace), f"k8s/{path.relative_to(REPO_ROOT / 'k8s')}"
    )


# The chart's variants of tests/charts, and the values the pipeline test installs.
CHART_VARIANTS = {**VARIANTS, "k8s-cluster": (Path(__file__).resolve().parent / "values-cluster.yaml",)}


@pytest.mark.parametrize("variant", sorted(CHART_VARIANTS))
def test_chart_variant_is_accepted(
    kubectl: Kubectl, restricted_namespace: str, helm_bin: Path, variant: str
) -> None:
    cmd = [
        str(helm_bin),
        "template",
        RELEASE,
        str(CHART_DIR),
        "--namespace",
        restricted_namespace,
        "--kube-version",
        versions()["K8S_CLUSTER_VERSION"],
    ]
    for values in CHART_VARIANTS[variant]:
        cmd += ["-f", str(values)]
    rendered = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert rendered.returncode == 0, rendered.stderr
    assert_accepted(dry_run(kubectl, rendered.stdout, restricted_namespace), f"chart ({variant})")


def server_expectation(path: Path) -> tuple[str, str]:
    line = next((ln for ln in path.read_text().splitlines() if ln.startswith("# server: ")), None)
    assert line is not None, f"{path.name}: needs a `# server: reject|warn: <message>` line"
    mode, _, message = line.removeprefix("# server: ").partition(": ")
    assert mode in {"reject", "warn"}, path.name
    return mode, message.strip()


def without_namespace(text: str) -> str:
    docs: list[dict[str, Any]] = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        doc.get("metadata", {}).pop("namespace", None)
    return yaml.safe_dump_all(docs)


@pytest.mark.parametrize("path", sorted(BAD_MANIFESTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_manifest_meets_the_server(kubectl: Kubectl, restricted_namespace: str, path: Path) -> None:
    mode, message = server_expectation(path)
    proc = dry_run(kubectl, without_namespace(path.read_text()), restricted_namespace)
    if mode == "reject":
        assert proc.returncode != 0, f"{path.name} was accepted by the API server"
        assert message in proc.stderr, proc.stderr
    else:
        # Pod Security admits workload controllers and warns; only their pods are refused.
        assert proc.returncode == 0, proc.stderr
        assert re.search(re.escape(message), proc.stderr), proc.stderr
