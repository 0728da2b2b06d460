"""`kubectl` (the v1.34 client from binaries.ensure()) against the cluster, as admin."""

from __future__ import annotations

import subprocess

from devtools.services.common import ServiceError

from .binaries import bin_dir
from .paths import ADMIN_KUBECONFIG


def kubectl(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 120) -> str:
    cmd = [str(bin_dir() / "kubectl"), "--kubeconfig", str(ADMIN_KUBECONFIG), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise ServiceError(f"`kubectl {' '.join(args)}` failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def node_ready() -> bool:
    out = kubectl(
        "get",
        "node",
        "localhost",
        "-o",
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        check=False,
    )
    return out.strip() == "True"


def coredns_ready() -> bool:
    out = kubectl(
        "-n", "kube-system", "get", "deploy", "coredns", "-o", "jsonpath={.status.readyReplicas}", check=False
    )
    return out.strip() not in {"", "0"}
