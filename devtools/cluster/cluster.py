"""Start, stop and inspect the local single-node Kubernetes cluster (see README.md here).

up() is idempotent (a running cluster is reused in well under a second); down() stops only
the daemons up() started (pid files), kills the pods behind them, and undoes every change to
the host: mounts, iptables chains, the bridge, sysctls, cgroups.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from devtools.services.common import ServiceError, wait_for

from . import addons, binaries, config, daemons, images, network, packages, paths, pki
from .kube import coredns_ready, kubectl, node_ready

START_TIMEOUT = 120.0


def kubeconfig() -> Path:
    """The admin kubeconfig (user in system:masters), certificates embedded."""
    return paths.ADMIN_KUBECONFIG


def is_up() -> bool:
    """up() has completed, every daemon of ours is running and the apiserver is ready."""
    if not paths.UP_MARKER.exists() or any(daemons.running(name) is None for name in daemons.ORDER):
        return False
    return daemons.apiserver_ready()


def _say(msg: str, t0: float) -> None:
    print(f"cluster: {msg} ({time.monotonic() - t0:.1f}s)", file=sys.stderr, flush=True)


def _log_tail(name: str, lines: int = 25) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(paths.log_file(name).read_text(errors="replace").splitlines()[-lines:])
    return ""


def _wait(name: str, check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
    try:
        wait_for(check, timeout, what, alive=lambda: daemons.running(name) is not None)
    except ServiceError as exc:
        raise ServiceError(
            f"{exc}\n--- last lines of {paths.log_file(name)} ---\n{_log_tail(name)}\n"
            f"(all logs: {paths.LOG_DIR})"
        ) from exc


def _containerd_ready() -> bool:
    if not paths.CONTAINERD_SOCKET.exists():
        return False
    try:
        images.ctr("version", timeout=10)
    except (ServiceError, subprocess.TimeoutExpired):
        return False
    return True


def _rotate_logs() -> None:
    for log in paths.LOG_DIR.glob("*.log"):
        log.replace(log.with_suffix(".log.prev"))


def build() -> Path:
    """Build (once, cached) the binaries and the images; no root needed. Returns the bin dir."""
    bin_dir = binaries.ensure()
    images.build_pause()
    images.build_coredns(bin_dir)
    images.build_probe()
    return bin_dir


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One up()/down() at a time on this machine (parallel test sessions share the cluster)."""
    paths.CLUSTER_DIR.mkdir(parents=True, exist_ok=True)
    with open(paths.LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def up() -> bool:
    """Start the cluster and wait for a Ready node and Ready CoreDNS; False if it was up already."""
    if os.geteuid() != 0:
        raise ServiceError("the local cluster needs root (network, mounts, cgroups)")
    with _locked():
        if is_up():
            addons.recycle_volumes()
            return False
        fresh = all(daemons.running(name) is None for name in daemons.ORDER)
        try:
            _start()
        except BaseException:
            # A half-started cluster must not keep the host's sysctls and iptables changed;
            # the logs stay for the post-mortem.
            if fresh:
                print(f"cluster: start failed, tearing down (logs kept in {paths.LOG_DIR})", file=sys.stderr)
                _down()
            raise
        return True


def _start() -> None:
    t0 = time.monotonic()
    packages.ensure()
    bin_dir = binaries.ensure()
    paths.ensure_dirs()
    if all(daemons.running(name) is None for name in daemons.ORDER):
        _rotate_logs()
    pause_tar = images.build_pause()
    coredns_tar = images.build_coredns(bin_dir)
    network.record_sysctls(paths.SYSCTL_RECORD)
    network.apply_sysctls()
    network.create_bridge()
    network.install_firewall()
    pki.ensure()
    config.write_all()
    _say("host prepared", t0)

    daemons.start("etcd", bin_dir)
    daemons.start("containerd", bin_dir)
    _wait("etcd", daemons.etcd_healthy, "etcd")
    daemons.start("kube-apiserver", bin_dir)
    _wait("containerd", _containerd_ready, "containerd")
    images.ensure_loaded(pause_tar, images.pause_ref())
    images.ensure_loaded(coredns_tar, images.coredns_ref())
    _wait("kube-apiserver", daemons.apiserver_ready, "kube-apiserver")
    _say("apiserver ready", t0)
    for name in ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        daemons.start(name, bin_dir)
    addons.apply()
    _wait("kubelet", node_ready, "node localhost Ready")
    _say("node Ready", t0)
    _wait("kube-scheduler", coredns_ready, "CoreDNS Ready")
    addons.recycle_volumes()
    paths.UP_MARKER.touch()
    _say(f"up; kubeconfig: {kubeconfig()}", t0)


# --- down --------------------------------------------------------------------------------


def _kill_pods() -> None:
    """SIGKILL every container of the kubelet's namespace and delete it (with its snapshot)."""
    with contextlib.suppress(ServiceError, subprocess.TimeoutExpired):
        for task in images.ctr("tasks", "ls", "-q", timeout=30).split():
            with contextlib.suppress(ServiceError, subprocess.TimeoutExpired):
                images.ctr("tasks", "delete", "--force", task, timeout=30)
        for container in images.ctr("containers", "ls", "-q", timeout=30).split():
            with contextlib.suppress(ServiceError, subprocess.TimeoutExpired):
                images.ctr("containers", "delete", container, timeout=30)


def _our_shims() -> list[int]:
    """containerd shims started by *our* containerd (they name its socket), if any survived it."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"-address" in argv and str(paths.CONTAINERD_SOCKET).encode() in argv:
                pids.append(int(proc.name))
    return pids


def _kubepods_cgroups() -> list[Path]:
    root = Path("/sys/fs/cgroup")
    found = [p for p in root.glob("*/kubepods") if p.is_dir()]
    if (root / "kubepods").is_dir():
        found.append(root / "kubepods")
    return found


def _kill_cgroup_leftovers() -> None:
    """Pod processes that outlived their runtime (containerd crashed): kill, then rmdir the cgroups."""
    for cgroup in _kubepods_cgroups():
        for procs in cgroup.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                for pid in procs.read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    for cgroup in _kubepods_cgroups():
        for dirpath, _, _ in sorted(os.walk(cgroup), key=lambda w: -len(w[0])):
            while time.monotonic() < deadline:
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)


def _mounts_under(*roots: Path) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if any(point == str(r) or point.startswith(f"{r}/") for r in roots):
            points.append(point)
    return sorted(set(points), key=lambda p: -p.count("/"))


def _unmount_all() -> None:
    for _ in range(3):
        points = _mounts_under(paths.CLUSTER_DIR, paths.RUN_DIR)
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)


def _remove_container_log_links() -> None:
    """The kubelet also links every container log into /var/log/containers; drop ours."""
    links = Path("/var/log/containers")
    if links.is_dir():
        for link in links.iterdir():
            with contextlib.suppress(OSError):
                if link.is_symlink() and os.readlink(link).startswith(str(paths.POD_LOGS_DIR)):
                    link.unlink()


# Paths the kubelet, libcni and containerd's shims hard-code outside our two roots.
CNI_RESULTS = Path("/var/lib/cni/results")
KUBELET_DEVICE_PLUGIN_SOCKET = Path("/var/lib/kubelet/device-plugins/kubelet.sock")
CONTAINER_LOG_LINKS = Path("/var/log/containers")
SHIM_SOCKET_DIR = Path("/run/containerd/s")


def _sandbox_ids() -> set[str]:
    """Ids of the pod sandboxes our containerd knows (also those of an earlier, crashed run)."""
    sandboxes = paths.CONTAINERD_ROOT / "io.containerd.grpc.v1.cri" / "sandboxes"
    return {p.name for p in sandboxes.iterdir()} if sandboxes.is_dir() else set()


def _cni_results(sandbox_ids: set[str]) -> list[Path]:
    """libcni's cached results of our attachments (its cache dir is not configurable in 1.6)."""
    if not CNI_RESULTS.is_dir():
        return []
    return [
        f
        for f in CNI_RESULTS.iterdir()
        if f.name.startswith(f"{network.CNI_NETWORK}-")
        or (f.name.startswith("cni-loopback-") and f.name.split("-")[2] in sandbox_ids)
    ]


def _rmdir_if_empty(*dirs: Path) -> None:
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()


def _remove_host_leftovers(sandbox_ids: set[str]) -> None:
    for f in _cni_results(sandbox_ids):
        f.unlink(missing_ok=True)
    KUBELET_DEVICE_PLUGIN_SOCKET.unlink(missing_ok=True)
    _remove_container_log_links()
    # Only if empty: anything else there is not ours.
    _rmdir_if_empty(
        CNI_RESULTS, CNI_RESULTS.parent, KUBELET_DEVICE_PLUGIN_SOCKET.parent, KUBELET_DEVICE_PLUGIN_SOCKET.parent.parent,
        CONTAINER_LOG_LINKS, SHIM_SOCKET_DIR, SHIM_SOCKET_DIR.parent,
    )  # fmt: skip


def down() -> bool:
    """Stop what up() started and undo its host changes; False if nothing was there."""
    with _locked():
        return _down()


def _down() -> bool:
    present = (
        any(daemons.running(name) is not None for name in daemons.ORDER)
        or network.bridge_exists()
        or paths.SYSCTL_RECORD.exists()
        or network.firewall_installed()
    )
    for name in ("kube-proxy", "kube-scheduler", "kube-controller-manager", "kubelet"):
        daemons.stop(name)
    sandbox_ids = _sandbox_ids()
    if daemons.running("containerd") is not None:
        _kill_pods()
    daemons.stop("containerd")
    for pid in _our_shims():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _kill_cgroup_leftovers()
    daemons.stop("kube-apiserver")
    daemons.stop("etcd")
    _unmount_all()
    kube_proxy = binaries.bin_dir() / "kube-proxy"
    if kube_proxy.exists():
        subprocess.run([str(kube_proxy), "--cleanup"], capture_output=True)
    network.remove_kube_chains()
    network.remove_firewall()
    network.delete_bridge()
    network.restore_sysctls(paths.SYSCTL_RECORD)
    _remove_host_leftovers(sandbox_ids)
    # A cluster lives for one up/down cycle; containerd's image store and the PKI stay.
    for path in (paths.ETCD_DATA_DIR, paths.KUBELET_ROOT, paths.POD_LOGS_DIR, paths.CNI_IPAM_DIR,
                 paths.VOLUMES_DIR, paths.RUN_DIR, paths.CONTAINERD_ROOT / "io.containerd.grpc.v1.cri"):  # fmt: skip
        shutil.rmtree(path, ignore_errors=True)
    return present


def leftovers() -> list[str]:
    """What of a cluster is still on the host (empty after down())."""
    found = [f"process {name} ({pid})" for name in daemons.ORDER if (pid := daemons.running(name))]
    found += [f"containerd shim {pid}" for pid in _our_shims()]
    found += [f"mount {point}" for point in _mounts_under(paths.CLUSTER_DIR, paths.RUN_DIR)]
    found += [f"cgroup {cg}" for cg in _kubepods_cgroups()]
    if network.bridge_exists():
        found.append(f"bridge {network.BRIDGE}")
    if network.firewall_installed():
        found.append(f"iptables chain {network.FORWARD_CHAIN}")
    found += [f"{table} chains {chains}" for table, chains in network.kube_chains().items()]
    found += [f"cni result {f}" for f in _cni_results(_sandbox_ids())]
    if KUBELET_DEVICE_PLUGIN_SOCKET.exists():
        found.append(str(KUBELET_DEVICE_PLUGIN_SOCKET))
    if paths.SYSCTL_RECORD.exists():
        found.append(f"unrestored sysctls ({paths.SYSCTL_RECORD})")
    return found


def status() -> dict[str, object]:
    out: dict[str, object] = {name: daemons.running(name) for name in daemons.ORDER}
    out["apiserver_ready"] = daemons.apiserver_ready() if out["kube-apiserver"] else False
    out["node_ready"] = node_ready() if out["apiserver_ready"] else False
    out["coredns_ready"] = coredns_ready() if out["apiserver_ready"] else False
    out["kubeconfig"] = str(kubeconfig())
    out["logs"] = str(paths.LOG_DIR)
    return out


__all__ = ["build", "down", "is_up", "kubeconfig", "kubectl", "leftovers", "status", "up"]
