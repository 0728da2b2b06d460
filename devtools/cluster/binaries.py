"""Kubernetes and CoreDNS binaries for the local cluster, built from the Go module proxy.

`python3 -m devtools.cluster build` (`make cluster-build`) builds whatever is missing into
`$TS_CACHE_DIR/cluster/bin/<version>/` and prints that directory. Nothing here is committed.

- Kubernetes (`K8S_CLUSTER_VERSION` in versions.env): `go install` refuses `k8s.io/kubernetes`
  because its go.mod replaces the `k8s.io/*` staging modules with `./staging/...`. We build
  from a throwaway wrapper module that requires it and replaces each staging module with its
  published `v0.<minor>.<patch>`; the version ldflags make the server report its real
  version (Helm's `kubeVersion` checks read it).
- CoreDNS (`COREDNS_VERSION`): a wrapper with only the plugins a cluster DNS needs, so the
  build skips the cloud SDKs of the full distribution.

Standard library only: it runs before any virtualenv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.services.common import ServiceError, cache_dir, versions

K8S_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)

# The Corefile (devtools/cluster/manifests) uses these; order is CoreDNS's plugin chain order.
COREDNS_PLUGINS = ("errors", "health", "ready", "kubernetes", "cache", "loop", "reload", "loadbalance")


def bin_dir() -> Path:
    v = versions()
    path = cache_dir() / "cluster" / "bin" / f"k8s-{v['K8S_CLUSTER_VERSION']}-coredns-{v['COREDNS_VERSION']}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ServiceError("building the cluster needs Go on PATH (https://go.dev/dl, or Debian's golang)")
    return go


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, check=False)
    if proc.returncode != 0:
        raise ServiceError(f"`{' '.join(cmd)}` failed in {cwd} (exit {proc.returncode})")


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    env["CGO_ENABLED"] = "0"
    return env


def _staging_modules(go: str, work: Path, version: str) -> list[str]:
    """The `k8s.io/*` modules k8s.io/kubernetes@version replaces with its ./staging copies."""
    out = subprocess.run(
        [go, "mod", "download", "-json", f"k8s.io/kubernetes@v{version}"],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise ServiceError(
            f"cannot fetch k8s.io/kubernetes@v{version} from the Go proxy: {out.stderr.strip()}"
        )
    gomod = re.search(r'"GoMod":\s*"([^"]+)"', out.stdout)
    if gomod is None:
        raise ServiceError(f"`go mod download` gave no go.mod for k8s.io/kubernetes@v{version}")
    text = Path(gomod.group(1)).read_text()
    return sorted(set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", text, flags=re.MULTILINE)))


def build_kubernetes(dest: Path) -> None:
    version = versions()["K8S_CLUSTER_VERSION"]
    missing = [c for c in K8S_COMMANDS if not (dest / c).exists()]
    if not missing:
        return
    go = _go()
    work = cache_dir() / "cluster" / "build" / f"k8s-{version}"
    work.mkdir(parents=True, exist_ok=True)
    major, minor, patch = version.split(".")
    staging = _staging_modules(go, work, version)
    lines = [
        "module tweetsentiment.local/k8sbuild",
        "",
        "go 1.24.0",
        "",
        f"require k8s.io/kubernetes v{version}",
        "",
    ]
    lines += [f"replace {m} => {m} v0.{minor}.{patch}" for m in staging]
    (work / "go.mod").write_text("\n".join(lines) + "\n")
    # A blank import keeps `go mod tidy` from dropping the requirement.
    (work / "tools.go").write_text(
        '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/pkg/version"\n'
    )
    env = _go_env()
    git_version = f"v{version}"
    ldflags = " ".join(
        f"-X {pkg}.{key}={val}"
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for key, val in (
            ("gitVersion", git_version),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
            ("buildDate", "1970-01-01T00:00:00Z"),
        )
    )
    for cmd in missing:
        pkg = f"k8s.io/kubernetes/cmd/{cmd}"
        _run(
            [go, "build", "-trimpath", "-ldflags", f"-s -w {ldflags}", "-o", str(dest / f".{cmd}.tmp"), pkg],
            work,
            env,
        )
        (dest / f".{cmd}.tmp").rename(dest / cmd)


COREDNS_MAIN = """package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
{imports}
)

func init() {{
	dnsserver.Directives = []string{{{directives}}}
}}

func main() {{
	coremain.Run()
}}
"""


def build_coredns(dest: Path) -> None:
    if (dest / "coredns").exists():
        return
    version = versions()["COREDNS_VERSION"]
    go = _go()
    work = cache_dir() / "cluster" / "build" / f"coredns-{version}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(
        f"module tweetsentiment.local/corednsbuild\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns v{version}\n"
    )
    imports = "\n".join(f'\t_ "github.com/coredns/coredns/plugin/{p}"' for p in COREDNS_PLUGINS)
    directives = ", ".join(f'"{p}"' for p in COREDNS_PLUGINS)
    (work / "main.go").write_text(COREDNS_MAIN.format(imports=imports, directives=directives))
    env = _go_env()
    _run([go, "mod", "tidy"], work, env)
    _run([go, "build", "-trimpath", "-ldflags", "-s -w", "-o", str(dest / ".coredns.tmp"), "."], work, env)
    (dest / ".coredns.tmp").rename(dest / "coredns")


def ensure() -> Path:
    dest = bin_dir()
    build_kubernetes(dest)
    build_coredns(dest)
    return dest
