"""A Docker engine for `make images`: an existing one if it answers, else our own dockerd.

Ours is Debian's dockerd (`docker.io`) on a containerd of its own (Debian's `containerd`,
own socket, root and state), never the system's or the local Kubernetes cluster's:

- sockets, pid files, logs and the exec root under `$TS_STATE_DIR/docker`;
- the data root (images and the build cache) under `$TS_CACHE_DIR/docker`, so the layer
  cache survives runs;
- `--iptables=false --bridge=none`: no NAT, no bridge; builds use `--network host` and the
  test containers need no network at all;
- an empty daemon.json of ours, so /etc/docker/daemon.json cannot change it;
- containerd's oom_score stays 0 and its CRI plugin is off (this machine cannot lower
  oom_score_adj; the CRI plugin is the cluster's business).

Which engine: `$DOCKER_HOST` if set and answering, else ours if running, else the default
socket (/var/run/docker.sock) if answering, else ours is started. `down` stops ours only
(and only if our pid files name live processes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devtools.services.common import (
    ServiceError,
    cache_dir,
    read_pid,
    spawn,
    state_dir,
    stop_pid,
    wait_for,
)

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# Debian packages providing what we run (installed as root when missing).
PACKAGES = {"dockerd": "docker.io", "docker": "docker.io", "containerd": "containerd", "runc": "runc"}


def engine_state_dir() -> Path:
    path = state_dir() / "docker"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_root() -> Path:
    return cache_dir() / "docker"


def own_host() -> str:
    return f"unix://{engine_state_dir() / 'docker.sock'}"


def _paths() -> dict[str, Path]:
    base = engine_state_dir()
    return {
        "dockerd_pid": base / "dockerd.pid",
        "dockerd_log": base / "dockerd.log",
        "containerd_pid": base / "containerd.pid",
        "containerd_log": base / "containerd.log",
        "containerd_sock": base / "containerd" / "containerd.sock",
        "containerd_config": base / "containerd.toml",
        "daemon_json": base / "daemon.json",
        "exec_root": base / "exec",
    }


def apt_install(*packages: str) -> None:
    """`apt-get install` as root (updating the lists once if the first try fails)."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ServiceError(
            f"{', '.join(packages)} missing: install them (Debian: apt-get install {' '.join(packages)})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "--no-install-recommends", *packages]
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode == 0:
        return
    subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"], env=env, capture_output=True, check=False
    )
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ServiceError(f"`apt-get install {' '.join(packages)}` failed:\n{proc.stderr[-2000:]}")


def require_binary(name: str) -> str:
    found = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None
    )
    if found is None:
        apt_install(PACKAGES.get(name, name))
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise ServiceError(f"`{name}` not found even after installing {PACKAGES.get(name, name)}")
    return found


@dataclass
class Engine:
    """A Docker engine that answered: how to reach it, and whether this code started it."""

    host: str
    ours: bool
    docker: str = field(default_factory=lambda: require_binary("docker"))

    @property
    def env(self) -> dict[str, str]:
        # The classic builder: BuildKit would fetch the `# syntax=` frontend from Docker Hub.
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def run(
        self, *args: str, timeout: float = 600, check: bool = True, input: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.docker, *args],
            env=self.env,
            capture_output=True,
            text=input is None,
            input=input,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode(errors="replace")
            raise ServiceError(
                f"`docker {' '.join(args[:3])} ...` failed (exit {proc.returncode}):\n{err[-3000:]}"
            )
        return proc

    def image_exists(self, ref: str) -> bool:
        return (
            self.run("image", "inspect", "--format", "{{.Id}}", ref, check=False, timeout=60).returncode == 0
        )

    def server_version(self) -> str:
        return self.run("version", "--format", "{{.Server.Version}}", timeout=30).stdout.strip()


def _answers(docker: str, host: str) -> bool:
    try:
        proc = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            env={**os.environ, "DOCKER_HOST": host},
            capture_output=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def find_engine() -> Engine | None:
    """An engine that answers now, without starting anything."""
    docker = require_binary("docker")
    env_host = os.environ.get("DOCKER_HOST")
    if env_host and _answers(docker, env_host):
        return Engine(env_host, ours=False, docker=docker)
    if read_pid(_paths()["dockerd_pid"]) is not None and _answers(docker, own_host()):
        return Engine(own_host(), ours=True, docker=docker)
    if not env_host and _answers(docker, DEFAULT_SOCKET):
        return Engine(DEFAULT_SOCKET, ours=False, docker=docker)
    return None


def _start_containerd(p: dict[str, Path]) -> None:
    if read_pid(p["containerd_pid"]) is not None and p["containerd_sock"].is_socket():
        return
    containerd = require_binary("containerd")
    require_binary("runc")
    p["containerd_sock"].parent.mkdir(parents=True, exist_ok=True)
    root = data_root() / "containerd"
    p["containerd_config"].write_text(
        "version = 2\n"
        f'root = "{root}"\n'
        f'state = "{p["containerd_sock"].parent / "state"}"\n'
        "oom_score = 0\n"
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        "[grpc]\n"
        f'  address = "{p["containerd_sock"]}"\n'
        "[ttrpc]\n"
        f'  address = "{p["containerd_sock"]}.ttrpc"\n'
        "[debug]\n"
        '  address = ""\n'
        "[metrics]\n"
        '  address = ""\n'
    )
    proc = spawn(
        [containerd, "--config", str(p["containerd_config"])],
        p["containerd_log"],
        p["containerd_pid"],
    )
    wait_for(
        p["containerd_sock"].is_socket,
        60,
        f"containerd (log: {p['containerd_log']})",
        alive=lambda: proc.poll() is None,
    )


def start_engine() -> Engine:
    """Start our containerd + dockerd (idempotent) and wait until the engine answers."""
    if os.geteuid() != 0:
        raise ServiceError("starting a Docker engine needs root; or point DOCKER_HOST at a running one")
    p = _paths()
    docker = require_binary("docker")
    dockerd = require_binary("dockerd")
    _start_containerd(p)
    if read_pid(p["dockerd_pid"]) is None:
        data_root().mkdir(parents=True, exist_ok=True)
        p["exec_root"].mkdir(parents=True, exist_ok=True)
        p["daemon_json"].write_text(json.dumps({}) + "\n")
        cmd = [
            dockerd,
            f"--config-file={p['daemon_json']}",
            f"--host={own_host()}",
            f"--data-root={data_root() / 'engine'}",
            f"--exec-root={p['exec_root']}",
            f"--pidfile={engine_state_dir() / 'dockerd.own.pid'}",
            f"--containerd={p['containerd_sock']}",
            "--containerd-namespace=tweet-sentiment",
            "--containerd-plugins-namespace=tweet-sentiment-plugins",
            "--iptables=false",
            "--ip-forward=false",
            "--bridge=none",
            "--storage-driver=overlay2",
            "--exec-opt=native.cgroupdriver=cgroupfs",
            "--oom-score-adjust=0",
        ]
        proc = spawn(cmd, p["dockerd_log"], p["dockerd_pid"])
        alive = lambda: proc.poll() is None  # noqa: E731
    else:
        pid = read_pid(p["dockerd_pid"])
        alive = lambda: pid is not None and read_pid(p["dockerd_pid"]) == pid  # noqa: E731
    wait_for(
        lambda: _answers(docker, own_host()),
        120,
        f"dockerd (log: {p['dockerd_log']})",
        alive=alive,
    )
    return Engine(own_host(), ours=True, docker=docker)


def ensure_engine() -> Engine:
    return find_engine() or start_engine()


def _our_mounts() -> list[str]:
    """Mount points under our engine's directories (dockerd leaves e.g. exec/netns/default)."""
    roots = (str(engine_state_dir()) + "/", str(data_root()) + "/")
    points = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].replace("\\040", " ")
            if (point + "/").startswith(roots):
                points.append(point)
    return sorted(set(points), key=len, reverse=True)


def stop_engine() -> bool:
    """Stop our dockerd and containerd (never an engine we did not start), then undo the
    mounts they left under our directories."""
    p = _paths()
    if read_pid(p["dockerd_pid"]) is None and read_pid(p["containerd_pid"]) is None:
        return False
    stop_pid(p["dockerd_pid"], timeout=60)
    stop_pid(p["containerd_pid"], timeout=30)
    for point in _our_mounts():
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    return True


def engine_status() -> dict[str, object]:
    p = _paths()
    found = find_engine()
    return {
        "host": found.host if found else None,
        "ours": found.ours if found else None,
        "server_version": found.server_version() if found else None,
        "dockerd_pid": read_pid(p["dockerd_pid"]),
        "containerd_pid": read_pid(p["containerd_pid"]),
        "data_root": str(data_root()),
        "logs": str(engine_state_dir()),
    }
