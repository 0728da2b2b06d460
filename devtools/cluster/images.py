"""Container images without a registry or a Docker engine, and importing them into the cluster.

No registry is reachable here, so the cluster's own images are built on this machine and
written as `docker save`-format tarballs (one layer tar + config JSON + manifest.json) that
`ctr images import` understands:

- pause: the pod sandbox, a static C program (src/pause.c, gcc -static);
- coredns: the cluster DNS binary from binaries.ensure();
- probe: the test-only helper of tests/k8s (src/probe, CGO_ENABLED=0 go build).

Tarballs are cached under `$TS_CACHE_DIR/cluster/images`, named by a hash of their inputs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from devtools.services.common import ServiceError, cache_dir, versions

from .paths import CONTAINERD_SOCKET

SRC = Path(__file__).resolve().parent / "src"
REGISTRY = "tweet-sentiment.local"
NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin (and so the kubelet) uses


@dataclass(frozen=True)
class File:
    path: str  # inside the image, without the leading slash
    data: bytes
    mode: int = 0o755


def images_dir() -> Path:
    path = cache_dir() / "cluster" / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tar_entry(tar: tarfile.TarFile, name: str, mode: int, data: bytes | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = 0
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _layer(files: list[File], dirs: dict[str, int]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        parents = {p for f in files for p in _parents(f.path)}
        for d in sorted(parents | set(dirs)):
            _tar_entry(tar, d + "/", dirs.get(d, 0o755))
        for f in sorted(files, key=lambda f: f.path):
            _tar_entry(tar, f.path, f.mode, f.data)
    return buf.getvalue()


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def write_image(dest: Path, ref: str, files: list[File], config: dict[str, object],
                dirs: dict[str, int] | None = None) -> None:  # fmt: skip
    """A single-layer FROM-scratch image as a `docker save` tarball."""
    layer = _layer(files, dirs or {})
    layer_id = hashlib.sha256(layer).hexdigest()
    image_config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_id}"]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "devtools/cluster/images.py"}],
        },
        sort_keys=True,
    ).encode()
    config_id = hashlib.sha256(image_config).hexdigest()
    manifest = json.dumps(
        [{"Config": f"{config_id}.json", "RepoTags": [ref], "Layers": [f"{layer_id}/layer.tar"]}]
    )
    tmp = dest.with_suffix(".tmp")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        _tar_entry(tar, f"{layer_id}/", 0o755)
        _tar_entry(tar, f"{layer_id}/layer.tar", 0o644, layer)
        _tar_entry(tar, f"{config_id}.json", 0o644, image_config)
        _tar_entry(tar, "manifest.json", 0o644, manifest.encode())
    tmp.rename(dest)


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part)
    return h.hexdigest()[:12]


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"`{' '.join(cmd)}` failed:\n{(proc.stdout + proc.stderr)[-2000:]}")


def pause_ref() -> str:
    return f"{REGISTRY}/pause:{_digest((SRC / 'pause.c').read_bytes())}"


def coredns_ref() -> str:
    return f"{REGISTRY}/coredns:{versions()['COREDNS_VERSION']}"


def probe_ref() -> str:
    return f"{REGISTRY}/probe:{_digest((SRC / 'probe' / 'main.go').read_bytes())}"


def _tarball(ref: str) -> Path:
    name, tag = ref.rsplit("/", 1)[1].split(":")
    return images_dir() / f"{name}-{tag}.tar"


def build_pause() -> Path:
    ref = pause_ref()
    dest = _tarball(ref)
    if not dest.exists():
        if shutil.which("gcc") is None:
            raise ServiceError(
                "building the pause image needs gcc and libc6-dev (apt-get install gcc libc6-dev)"
            )
        binary = images_dir() / "pause.bin"
        _run(["gcc", "-static", "-Os", "-s", "-o", str(binary), str(SRC / "pause.c")])
        files = [File("pause", binary.read_bytes())]
        write_image(dest, ref, files, {"Entrypoint": ["/pause"], "User": "65535:65535"})
        binary.unlink()
    return dest


def build_coredns(bin_dir: Path) -> Path:
    ref = coredns_ref()
    dest = _tarball(ref)
    if not dest.exists():
        files = [File("coredns", (bin_dir / "coredns").read_bytes())]
        write_image(dest, ref, files, {"Entrypoint": ["/coredns"], "User": "65534:65534"})
    return dest


def build_probe() -> Path:
    ref = probe_ref()
    dest = _tarball(ref)
    if not dest.exists():
        go = shutil.which("go")
        if go is None:
            raise ServiceError("building the probe image needs Go on PATH")
        work = images_dir() / "probe-build"
        work.mkdir(exist_ok=True)
        shutil.copy(SRC / "probe" / "main.go", work / "main.go")
        (work / "go.mod").write_text("module tweetsentiment.local/probe\n\ngo 1.22\n")
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
        _run([go, "build", "-trimpath", "-ldflags", "-s -w", "-o", "probe", "."], cwd=work, env=env)
        files = [File("probe", (work / "probe").read_bytes())]
        # A world-writable /tmp, as any image has: the probe may write there under any uid.
        write_image(dest, ref, files, {"Entrypoint": ["/probe"], "User": "65534:65534"}, dirs={"tmp": 0o1777})
        shutil.rmtree(work)
    return dest


def ctr(*args: str, timeout: float = 600) -> str:
    """`ctr` against the cluster's own containerd, in the namespace the kubelet uses."""
    cmd = ["ctr", "--address", str(CONTAINERD_SOCKET), "--namespace", NAMESPACE, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise ServiceError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip()[-2000:]}")
    return proc.stdout


def image_refs() -> set[str]:
    return set(ctr("images", "ls", "-q").split())


def load_image(tar: Path) -> None:
    """Import a `docker save` (or OCI) tarball into the cluster's containerd (namespace k8s.io).

    The pods then use the image by the name it was saved under (`tweet-sentiment/producer:dev`
    is `docker.io/tweet-sentiment/producer:dev` to containerd, which is what the kubelet asks
    for) with `imagePullPolicy: IfNotPresent` or `Never`: nothing is ever pulled.
    """
    if not CONTAINERD_SOCKET.exists():
        raise ServiceError(
            f"the cluster's containerd is not running ({CONTAINERD_SOCKET}): run `make cluster-up`"
        )
    ctr("images", "import", str(tar))


def ensure_loaded(tarball: Path, ref: str) -> None:
    if ref not in image_refs():
        load_image(tarball)
