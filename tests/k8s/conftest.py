"""Fixtures of the in-cluster tests: the local Kubernetes cluster (devtools/cluster), once per session.

A cluster already up is reused and left running; one this session started is stopped at the
end (set TS_KEEP_SERVICES=1 to keep it for the next run), and its teardown is checked: no
process, mount, bridge, iptables chain or changed sysctl may be left behind.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.cluster import binaries, cluster, images, network
from devtools.services.common import ServiceError
from tests.conftest import KEEP, unique

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def k8s_cluster() -> Iterator[None]:
    before = {name: network.read_sysctl(name) for name in network.RECORDED_SYSCTLS}
    try:
        started = cluster.up()
    except ServiceError as exc:
        pytest.fail(f"cannot start the local Kubernetes cluster: {exc}", pytrace=False)
    yield
    if started and not KEEP:
        cluster.down()
        left = cluster.leftovers()
        after = {name: network.read_sysctl(name) for name in network.RECORDED_SYSCTLS}
        changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
        assert not left, f"down() left {left}"
        assert not changed, f"down() did not restore the sysctls (before, after): {changed}"


@pytest.fixture(scope="session")
def kubectl(k8s_cluster: None) -> Kubectl:
    """kubectl(*args, stdin=None, check=True) -> CompletedProcess, as the cluster admin."""
    binary = str(binaries.bin_dir() / "kubectl")
    kubeconfig = str(cluster.kubeconfig())

    def run(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 120) -> Any:
        proc = subprocess.run(
            [binary, "--kubeconfig", kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}")
        return proc

    return run


@pytest.fixture(scope="session")
def probe_image(k8s_cluster: None) -> str:
    """The test-only helper image (devtools/cluster/src/probe), imported into the cluster."""
    ref = images.probe_ref()
    images.ensure_loaded(images.build_probe(), ref)
    return ref


@pytest.fixture(scope="module")
def k8s_namespace(kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace enforcing the `restricted` Pod Security Standard, deleted afterwards."""
    name = unique("k8s-test")
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def restricted_pod(name: str, image: str, args: list[str], uid: int = 65534, **spec: Any) -> dict[str, Any]:
    """A pod that passes the `restricted` Pod Security Standard."""
    labels = spec.pop("labels", {"app": name})
    mounts = spec.pop("volume_mounts", [])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "restartPolicy": spec.pop("restart_policy", "Never"),
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": uid,
                "runAsGroup": uid,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Never",
                    "args": args,
                    "volumeMounts": mounts,
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
            **spec,
        },
    }


def apply(kubectl: Kubectl, namespace: str, *objects: dict[str, Any]) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": list(objects)}
    kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(doc))


@pytest.fixture(scope="session")
def crds_installed(kubectl: Kubectl, shared_dir: Path) -> None:
    """The operators' CRDs at the versions our manifests are pinned to (../shared/crds), installed
    server-side: the API server then validates our custom resources as the operators' own would."""
    for operator in ("strimzi", "eck", "spark-operator", "prometheus-operator"):
        folder = shared_dir / "crds" / operator
        if not folder.is_dir():
            pytest.fail(f"{folder} is missing: the operators' CRDs live in shared/ (set TS_SHARED_DIR)")
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(folder))
    # Polled, not `kubectl wait -f`: that fails on a CRD whose status has no conditions yet.
    deadline = time.monotonic() + 120
    while True:
        crds = json.loads(kubectl("get", "crd", "-o", "json").stdout)["items"]
        pending = [
            c["metadata"]["name"]
            for c in crds
            if not any(
                cond["type"] == "Established" and cond["status"] == "True"
                for cond in c.get("status", {}).get("conditions") or []
            )
        ]
        if not pending:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"CRDs not Established after 120 s: {pending}", pytrace=False)
        time.sleep(0.5)
