"""The local cluster's fixed network layout, and the host-side plumbing that enforces it.

Importable by anything that needs an address (`from devtools.cluster.network import GATEWAY_IP`).

Layout: every pod sits on one Linux bridge (`BRIDGE`) with an address from `POD_CIDR`; the
bridge carries `GATEWAY_IP`, which is also where the apiserver listens and where host services
meant for pods must listen. Pods get routes to `POD_CIDR` (on-link) and `SERVICE_CIDR` (via the
gateway, where kube-proxy's DNAT turns them into pod or host addresses) and nothing else: no
default route, no masquerade. Our own iptables chains drop anything forwarded from pods to a
non-pod address and anything reaching the pod network from another interface, so no packet of
a pod leaves the machine and nothing outside reaches the cluster.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

from devtools.services.common import ServiceError

BRIDGE = "tscni0"
CNI_NETWORK = "tweet-sentiment-cluster"
POD_CIDR = "10.244.0.0/24"
GATEWAY_IP = "10.244.0.1"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
APISERVER_PORT = 6443
APISERVER_URL = f"https://{GATEWAY_IP}:{APISERVER_PORT}"
# etcd off its default ports: a developer's own etcd may use 2379/2380.
ETCD_CLIENT_PORT = 12379
ETCD_PEER_PORT = 12380

# Our chains, jumped to first from INPUT and FORWARD.
INPUT_CHAIN = "TS-CLUSTER-INPUT"
FORWARD_CHAIN = "TS-CLUSTER-FORWARD"

# Sysctls that up() (or the kubelet, kube-proxy and the bridge CNI plugin it starts) may
# change; their original values are recorded at up and written back at down.
RECORDED_SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "net.ipv4.conf.all.route_localnet",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
)
# What the cluster needs: routing between pods and ClusterIPs on the bridge, and bridged
# traffic (pod -> ClusterIP -> pod on the same bridge) passing iptables so replies un-DNAT.
REQUIRED_SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def read_sysctl(name: str) -> str | None:
    try:
        return _sysctl_path(name).read_text().strip()
    except OSError:
        return None


def write_sysctl(name: str, value: str) -> None:
    try:
        _sysctl_path(name).write_text(value + "\n")
    except OSError as exc:
        raise ServiceError(f"cannot set sysctl {name}={value}: {exc}") from exc


def record_sysctls(record: Path) -> None:
    """Remember the original values once: a second up (after a crash) must not overwrite them."""
    if record.exists():
        return
    values = {name: read_sysctl(name) for name in RECORDED_SYSCTLS}
    record.write_text(json.dumps({k: v for k, v in values.items() if v is not None}, indent=1) + "\n")


def apply_sysctls() -> None:
    for name, value in REQUIRED_SYSCTLS.items():
        if read_sysctl(name) != value:
            write_sysctl(name, value)


def restore_sysctls(record: Path) -> None:
    if not record.exists():
        return
    for name, value in json.loads(record.read_text()).items():
        if read_sysctl(name) != value:
            with contextlib.suppress(ServiceError):
                write_sysctl(name, value)
    record.unlink()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ServiceError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()}")
    return proc


def bridge_exists() -> bool:
    return Path("/sys/class/net", BRIDGE).exists()


def create_bridge() -> None:
    """The bridge exists before any pod so the apiserver can bind the gateway address."""
    if not bridge_exists():
        _ip("link", "add", BRIDGE, "type", "bridge")
    prefix = POD_CIDR.split("/")[1]
    addrs = _ip("-o", "-4", "addr", "show", "dev", BRIDGE).stdout
    if f" {GATEWAY_IP}/{prefix} " not in addrs:
        _ip("addr", "add", f"{GATEWAY_IP}/{prefix}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")


def bridge_ports() -> list[str]:
    out = _ip("-o", "link", "show", "master", BRIDGE, check=False).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line]


def delete_bridge() -> None:
    """Delete the veths still attached (pods killed behind CNI's back) and the bridge."""
    if not bridge_exists():
        return
    for port in bridge_ports():
        _ip("link", "delete", port, check=False)
    _ip("link", "delete", BRIDGE, check=False)


def _iptables(*args: str, check: bool = True, binary: str = "iptables") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([binary, "-w", "10", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ServiceError(f"`{binary} {' '.join(args)}` failed: {proc.stderr.strip()}")
    return proc


INPUT_RULES = (
    # The host itself and its pods may reach everything on the pod network (the apiserver, host
    # services on the gateway address) ...
    ("-i", "lo", "-j", "RETURN"),
    ("-i", BRIDGE, "-j", "RETURN"),
    # ... nothing arriving on another interface may (Linux accepts any local address on any
    # interface, so binding the gateway address alone would not keep the outside away).
    ("-d", POD_CIDR, "-j", "DROP"),
    ("-d", SERVICE_CIDR, "-j", "DROP"),
)
FORWARD_RULES = (
    # Pod to pod on the bridge (also after kube-proxy's DNAT of a ClusterIP).
    ("-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"),
    # Anything else a pod sends is not for this machine's other interfaces: drop it ...
    ("-s", POD_CIDR, "-j", "DROP"),
    ("-i", BRIDGE, "-j", "DROP"),
    # ... and nothing from elsewhere is forwarded into the pod network or to a ClusterIP.
    ("-d", POD_CIDR, "-j", "DROP"),
    ("-d", SERVICE_CIDR, "-j", "DROP"),
)


def _install_chain(chain: str, parent: str, rules: tuple[tuple[str, ...], ...]) -> None:
    if _iptables("-n", "-L", chain, check=False).returncode != 0:
        _iptables("-N", chain)
    _iptables("-F", chain)
    for rule in rules:
        _iptables("-A", chain, *rule)
    # Exactly one jump, first in the parent chain (before Docker's or anyone's ACCEPTs).
    while _iptables("-D", parent, "-j", chain, check=False).returncode == 0:
        pass
    _iptables("-I", parent, "1", "-j", chain)


def install_firewall() -> None:
    _install_chain(INPUT_CHAIN, "INPUT", INPUT_RULES)
    _install_chain(FORWARD_CHAIN, "FORWARD", FORWARD_RULES)


def remove_firewall() -> None:
    for chain, parent in ((INPUT_CHAIN, "INPUT"), (FORWARD_CHAIN, "FORWARD")):
        while _iptables("-D", parent, "-j", chain, check=False).returncode == 0:
            pass
        _iptables("-F", chain, check=False)
        _iptables("-X", chain, check=False)


def firewall_installed() -> bool:
    return _iptables("-C", "FORWARD", "-j", FORWARD_CHAIN, check=False).returncode == 0


def kube_chains(binary: str = "iptables") -> dict[str, list[str]]:
    """KUBE-* chains per table (left by kube-proxy and the kubelet)."""
    found: dict[str, list[str]] = {}
    for table in ("filter", "nat", "mangle"):
        out = _iptables("-t", table, "-S", check=False, binary=binary).stdout
        chains = [line.split()[1] for line in out.splitlines() if line.startswith("-N KUBE-")]
        if chains:
            found[table] = chains
    return found


def remove_kube_chains() -> None:
    """What `kube-proxy --cleanup` leaves: the kubelet's chains and the jumps to them."""
    for binary in ("iptables", "ip6tables"):
        for table, chains in kube_chains(binary).items():
            rules = _iptables("-t", table, "-S", check=False, binary=binary).stdout.splitlines()
            for rule in rules:
                parts = rule.split()
                if parts[0] == "-A" and not parts[1].startswith("KUBE-") and "-j" in parts:
                    target = parts[parts.index("-j") + 1]
                    if target.startswith("KUBE-"):
                        _iptables("-t", table, "-D", *parts[1:], check=False, binary=binary)
            for chain in chains:
                _iptables("-t", table, "-F", chain, check=False, binary=binary)
            for chain in chains:
                _iptables("-t", table, "-X", chain, check=False, binary=binary)


def cni_config(ipam_dir: Path) -> dict[str, object]:
    """The CNI network list containerd hands to the bridge plugin (/usr/lib/cni)."""
    return {
        "cniVersion": "0.4.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                # The gateway address is on the bridge (we put it there first), but with no
                # isDefaultGateway and no ipMasq: pods only get the routes below.
                "isGateway": True,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(ipam_dir),
                    "ranges": [[{"subnet": POD_CIDR, "gateway": GATEWAY_IP}]],
                    "routes": [{"dst": SERVICE_CIDR, "gw": GATEWAY_IP}],
                },
            },
        ],
    }
