"""Config files of the cluster's daemons, written under `paths.CONFIG_DIR` at every up.

JSON is valid YAML, so the Kubernetes component configs are written as JSON.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from . import pki
from .images import pause_ref
from .network import (
    APISERVER_URL,
    CLUSTER_DOMAIN,
    DNS_SERVICE_IP,
    GATEWAY_IP,
    POD_CIDR,
    cni_config,
)
from .paths import (
    ADMIN_KUBECONFIG,
    CNI_CONF_DIR,
    CNI_IPAM_DIR,
    CONFIG_DIR,
    CONTAINERD_ROOT,
    CONTAINERD_SOCKET,
    CONTAINERD_STATE,
    POD_LOGS_DIR,
    RUN_DIR,
)

CONTAINERD_CONFIG = CONFIG_DIR / "containerd.toml"
KUBELET_CONFIG = CONFIG_DIR / "kubelet.json"
KUBE_PROXY_CONFIG = CONFIG_DIR / "kube-proxy.json"
RESOLV_CONF = CONFIG_DIR / "resolv.conf"

# (kubeconfig name, client cert name)
KUBECONFIGS = {
    "admin": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "kube-proxy": "kube-proxy",
    "kubelet": "kubelet",
}


def kubeconfig_path(name: str) -> Path:
    return ADMIN_KUBECONFIG if name == "admin" else CONFIG_DIR / f"{name}.kubeconfig"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    path.write_text(text)
    path.chmod(mode)


def write_kubeconfigs() -> None:
    """Certificates embedded, so a kubeconfig can be copied anywhere on the machine."""
    for name, cert in KUBECONFIGS.items():
        user = f"tweet-sentiment-{name}"
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "tweet-sentiment",
                    "cluster": {"server": APISERVER_URL, "certificate-authority-data": _b64(pki.crt("ca"))},
                }
            ],
            "users": [
                {
                    "name": user,
                    "user": {
                        "client-certificate-data": _b64(pki.crt(cert)),
                        "client-key-data": _b64(pki.key(cert)),
                    },
                }
            ],
            "contexts": [
                {"name": "tweet-sentiment", "context": {"cluster": "tweet-sentiment", "user": user}}
            ],
            "current-context": "tweet-sentiment",
        }
        _write(kubeconfig_path(name), json.dumps(doc, indent=1) + "\n")


CONTAINERD_TOML = """\
# The cluster's own containerd: own root, state and socket, so a Docker engine's containerd
# (/run/containerd) is never touched.
version = 2
root = "{root}"
state = "{state}"

[grpc]
  address = "{socket}"

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  # No CAP_SYS_RESOURCE on this machine: a negative oom_score_adj would fail every sandbox.
  restrict_oom_score_adj = true
  # Network namespaces under our state dir, so down() can find and unmount exactly ours.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  max_container_log_line_size = 16384

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state off /run/containerd/runc, which a Docker engine's containerd uses.
        Root = "{runc_root}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni_conf}"
    max_conf_num = 1
"""


def write_containerd() -> None:
    text = CONTAINERD_TOML.format(
        root=CONTAINERD_ROOT,
        state=CONTAINERD_STATE,
        socket=CONTAINERD_SOCKET,
        pause=pause_ref(),
        runc_root=RUN_DIR / "runc",
        cni_conf=CNI_CONF_DIR,
    )
    _write(CONTAINERD_CONFIG, text, 0o644)


def write_cni() -> None:
    for old in CNI_CONF_DIR.glob("*"):
        old.unlink()
    _write(
        CNI_CONF_DIR / "10-tweet-sentiment.conflist", json.dumps(cni_config(CNI_IPAM_DIR), indent=1), 0o644
    )


def write_kubelet() -> None:
    # Pods with dnsPolicy Default (CoreDNS) get this: no nameserver that leads off the machine.
    _write(RESOLV_CONF, "# tweet-sentiment cluster: no external nameserver\noptions ndots:1\n", 0o644)
    cfg = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The apiserver reaches the kubelet as node "localhost" (127.0.0.1); nothing else may.
        "address": "127.0.0.1",
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "tlsCertFile": str(pki.crt("kubelet-server")),
        "tlsPrivateKeyFile": str(pki.key("kubelet-server")),
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.crt("ca"))},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
        # cgroup v1 hybrid machine, no systemd: cgroupfs; 1.34 still runs on v1 when told so.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(RESOLV_CONF),
        "podLogsDir": str(POD_LOGS_DIR),
        "podCIDR": POD_CIDR,
        "maxPods": 110,
        # A shared developer disk: do not evict pods or delete images because it is full-ish;
        # imported images cannot be pulled again.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
            "imagefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "shutdownGracePeriod": "0s",
        "logging": {"format": "text"},
    }
    _write(KUBELET_CONFIG, json.dumps(cfg, indent=1) + "\n", 0o644)


def write_kube_proxy() -> None:
    cfg = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig_path("kube-proxy"))},
        "hostnameOverride": "localhost",
        "clusterCIDR": POD_CIDR,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # NodePorts only on the bridge address, never on the external interface.
        "nodePortAddresses": [f"{GATEWAY_IP}/32"],
        # No route_localnet sysctl, no NodePorts on 127.0.0.1.
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        # Zero: leave the host's conntrack sysctls alone.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }
    _write(KUBE_PROXY_CONFIG, json.dumps(cfg, indent=1) + "\n", 0o644)


def write_all() -> None:
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    write_kubeconfigs()
    write_containerd()
    write_cni()
    write_kubelet()
    write_kube_proxy()
