"""Where the local cluster keeps its state, sockets, logs and kubeconfig.

Everything lives under two directories of its own, never the repo nor a Docker engine's
paths: `CLUSTER_DIR` (persistent: PKI, etcd data, containerd's image store, kubelet root,
volumes, logs) and `RUN_DIR` (sockets, pid files, containerd's runtime state). Override them
with TS_CLUSTER_DIR and TS_CLUSTER_RUN_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

CLUSTER_DIR = Path(os.environ.get("TS_CLUSTER_DIR", "/var/lib/tweet-sentiment-cluster"))
RUN_DIR = Path(os.environ.get("TS_CLUSTER_RUN_DIR", "/run/tweet-sentiment-cluster"))

PKI_DIR = CLUSTER_DIR / "pki"
CONFIG_DIR = CLUSTER_DIR / "config"
LOG_DIR = CLUSTER_DIR / "logs"
ETCD_DATA_DIR = CLUSTER_DIR / "etcd"
CONTAINERD_ROOT = CLUSTER_DIR / "containerd"
CONTAINERD_STATE = RUN_DIR / "containerd"
CONTAINERD_SOCKET = RUN_DIR / "containerd.sock"
KUBELET_ROOT = CLUSTER_DIR / "kubelet"
POD_LOGS_DIR = CLUSTER_DIR / "pod-logs"
CNI_CONF_DIR = CLUSTER_DIR / "cni" / "net.d"
CNI_IPAM_DIR = CLUSTER_DIR / "cni" / "ipam"
VOLUMES_DIR = CLUSTER_DIR / "volumes"
PID_DIR = RUN_DIR / "pids"
# In RUN_DIR (tmpfs): a reboot resets both the sysctls and this record.
SYSCTL_RECORD = RUN_DIR / "sysctl-before-up.json"
# Serialises up() and down() of concurrent sessions (other worktrees' test runs).
LOCK_FILE = CLUSTER_DIR / ".lock"
ADMIN_KUBECONFIG = CONFIG_DIR / "admin.kubeconfig"
# Written when up() has finished (addons applied, node and DNS Ready), removed by down().
UP_MARKER = RUN_DIR / "up-complete"


def ensure_dirs() -> None:
    """The directories up() writes to, with the modes pods need."""
    for path in (PKI_DIR, CONFIG_DIR, LOG_DIR, CONTAINERD_ROOT, KUBELET_ROOT, POD_LOGS_DIR, CNI_CONF_DIR,
                 CNI_IPAM_DIR, VOLUMES_DIR, PID_DIR, CONTAINERD_STATE):  # fmt: skip
        path.mkdir(parents=True, exist_ok=True)
    # Pods run as non-root uids and must traverse to their volumes.
    CLUSTER_DIR.chmod(0o755)
    VOLUMES_DIR.chmod(0o755)
    PKI_DIR.chmod(0o700)
    ETCD_DATA_DIR.mkdir(mode=0o700, exist_ok=True)


def log_file(daemon: str) -> Path:
    return LOG_DIR / f"{daemon}.log"


def pid_file(daemon: str) -> Path:
    return PID_DIR / f"{daemon}.pid"
