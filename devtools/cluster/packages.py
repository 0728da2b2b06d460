"""The Debian packages the cluster runs on, installed with apt-get when missing (as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devtools.services.common import ServiceError

# A file each package provides -> the package. Daemons, CNI plugins and the tools up/down use.
REQUIRED = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "etcd": "etcd-server",
    "/usr/lib/cni/bridge": "containernetworking-plugins",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "socat": "socat",
    "ip": "iproute2",
    "gcc": "gcc",
    # gcc -static of the pause image needs the static libc.
    "/usr/lib/x86_64-linux-gnu/libc.a": "libc6-dev",
}


def _present(item: str) -> bool:
    return Path(item).exists() if item.startswith("/") else shutil.which(item) is not None


def missing() -> list[str]:
    return sorted({pkg for item, pkg in REQUIRED.items() if not _present(item)})


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt run may hold the lock for a while: wait, do not fail.
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def ensure() -> None:
    pkgs = missing()
    if not pkgs:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ServiceError(f"the local cluster needs these Debian packages: apt-get install {' '.join(pkgs)}")
    print(f"cluster: installing {' '.join(pkgs)} (apt-get) ...", flush=True)
    install = ("install", "-y", "--no-install-recommends", *pkgs)
    proc = _apt_get(*install)
    if proc.returncode != 0:
        # A fresh machine has no package lists yet.
        _apt_get("update")
        proc = _apt_get(*install)
    if proc.returncode != 0 or missing():
        raise ServiceError(
            f"`apt-get install {' '.join(pkgs)}` failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
        )
