"""The cluster's daemons: their command lines, and starting/stopping them by pid file.

Each runs in its own session (common.spawn) with its log in `paths.LOG_DIR` and its pid in
`paths.PID_DIR`; down() stops exactly these pids, never anything found by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import urllib.request
from pathlib import Path

from devtools.services.common import read_pid, spawn, stop_pid

from . import pki
from .config import CONTAINERD_CONFIG, KUBE_PROXY_CONFIG, KUBELET_CONFIG, kubeconfig_path
from .network import (
    APISERVER_PORT,
    APISERVER_URL,
    CLUSTER_DOMAIN,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    GATEWAY_IP,
    SERVICE_CIDR,
)
from .paths import ETCD_DATA_DIR, KUBELET_ROOT, PKI_DIR, log_file, pid_file

ETCD_URL = f"https://127.0.0.1:{ETCD_CLIENT_PORT}"
# Start order; down() stops them in reverse.
ORDER = (
    "etcd",
    "containerd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
)


def command(name: str, bin_dir: Path) -> list[str]:
    ca = str(pki.crt("ca"))
    if name == "etcd":
        peer = f"http://127.0.0.1:{ETCD_PEER_PORT}"
        return [
            "etcd", "--name", "tweet-sentiment", "--data-dir", str(ETCD_DATA_DIR),
            "--listen-client-urls", ETCD_URL, "--advertise-client-urls", ETCD_URL,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"tweet-sentiment={peer}", "--initial-cluster-state", "new",
            "--cert-file", str(pki.crt("etcd-server")), "--key-file", str(pki.key("etcd-server")),
            "--client-cert-auth", "--trusted-ca-file", ca,
            "--logger", "zap", "--log-outputs", "stderr", "--snapshot-count", "10000",
        ]  # fmt: skip
    if name == "containerd":
        return ["containerd", "--config", str(CONTAINERD_CONFIG)]
    if name == "kube-apiserver":
        return [
            str(bin_dir / name),
            # Only on the bridge address: reachable from the host and from pods, not from
            # outside (network.INPUT_RULES drop the pod network on other interfaces).
            "--advertise-address", GATEWAY_IP, "--bind-address", GATEWAY_IP,
            "--secure-port", str(APISERVER_PORT),
            "--etcd-servers", ETCD_URL, "--etcd-cafile", ca,
            "--etcd-certfile", str(pki.crt("apiserver-etcd-client")),
            "--etcd-keyfile", str(pki.key("apiserver-etcd-client")),
            "--client-ca-file", ca,
            "--tls-cert-file", str(pki.crt("apiserver")), "--tls-private-key-file", str(pki.key("apiserver")),
            "--kubelet-client-certificate", str(pki.crt("apiserver-kubelet-client")),
            "--kubelet-client-key", str(pki.key("apiserver-kubelet-client")),
            "--kubelet-certificate-authority", ca,
            "--kubelet-preferred-address-types", "Hostname",
            "--service-account-issuer", f"https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
            "--service-account-key-file", str(PKI_DIR / "sa.pub"),
            "--service-account-signing-key-file", str(pki.key("sa")),
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--authorization-mode", "Node,RBAC",
            # PodSecurity is on by default; NodeRestriction goes with the Node authorizer.
            "--enable-admission-plugins", "NodeRestriction",
            "--allow-privileged=true",
            "--profiling=false",
        ]  # fmt: skip
    if name == "kube-controller-manager":
        kc = str(kubeconfig_path("controller-manager"))
        return [
            str(bin_dir / name),
            "--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
            "--bind-address", "127.0.0.1", "--leader-elect=false", "--cluster-name", "tweet-sentiment",
            "--cluster-signing-cert-file", ca, "--cluster-signing-key-file", str(pki.key("ca")),
            "--root-ca-file", ca, "--service-account-private-key-file", str(pki.key("sa")),
            "--use-service-account-credentials=true",
            "--service-cluster-ip-range", SERVICE_CIDR, "--allocate-node-cidrs=false",
            "--profiling=false",
        ]  # fmt: skip
    if name == "kube-scheduler":
        kc = str(kubeconfig_path("scheduler"))
        return [
            str(bin_dir / name),
            "--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
            "--bind-address", "127.0.0.1", "--leader-elect=false", "--profiling=false",
        ]  # fmt: skip
    if name == "kubelet":
        return [
            str(bin_dir / name),
            "--config", str(KUBELET_CONFIG), "--kubeconfig", str(kubeconfig_path("kubelet")),
            # Our own root dir: down() unmounts only what is under it.
            "--root-dir", str(KUBELET_ROOT),
            "--hostname-override", "localhost", "--node-ip", GATEWAY_IP,
        ]  # fmt: skip
    if name == "kube-proxy":
        return [str(bin_dir / name), "--config", str(KUBE_PROXY_CONFIG)]
    raise ValueError(name)


def running(name: str) -> int | None:
    return read_pid(pid_file(name))


def start(name: str, bin_dir: Path) -> None:
    if running(name) is not None:
        return
    log = log_file(name)
    with open(log, "a") as f:
        f.write(f"\n===== starting {name} =====\n")
    env = dict(os.environ)
    # containerd finds runc and its shim on PATH; the kubelet needs mount, iptables, ...
    env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    spawn(command(name, bin_dir), log, pid_file(name), env=env)


def stop(name: str, timeout: float = 20.0) -> bool:
    return stop_pid(pid_file(name), timeout=timeout)


def _client_context(cert: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.crt("ca")))
    ctx.load_cert_chain(str(pki.crt(cert)), str(pki.key(cert)))
    return ctx


def https_get(url: str, cert: str, timeout: float = 3.0) -> tuple[int, str]:
    """GET `url` with one of our client certs; (status, body), status 0 if unreachable."""
    try:
        with urllib.request.urlopen(url, context=_client_context(cert), timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (OSError, ssl.SSLError):
        return 0, ""


def etcd_healthy() -> bool:
    status, body = https_get(f"{ETCD_URL}/health", "apiserver-etcd-client")
    with contextlib.suppress(ValueError):
        return status == 200 and json.loads(body).get("health") == "true"
    return False


def apiserver_ready() -> bool:
    return https_get(f"{APISERVER_URL}/readyz", "admin")[0] == 200
