"""Pinned tools for the offline chart checks: helm, kubeconform, promtool and checkov.

`python3 -m devtools.services.tools` (what `make tools` runs) installs whatever is missing:

- helm and kubeconform: `go install <module>@<version>` into `$TS_CACHE_DIR/tools/bin`
  (versions from versions.env). Building them on 2 cores takes minutes, so a binary of
  the right version already there, or on PATH, is reused.
- promtool: Debian's `prometheus` package (apt, as root).
- checkov: a virtualenv of its own under `$TS_CACHE_DIR/tools/checkov-venv`, because its
  dependencies would fight the pins of the dev virtualenv.

Standard library only: it runs before any virtualenv exists. The `*_bin()` functions only
look (the tests use them); `ensure_*()` install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from devtools.services.common import ServiceError, cache_dir, versions


def checkov_version() -> str:
    return versions()["CHECKOV_VERSION"]


GO_TOOLS = {
    "helm": ("helm.sh/helm/v3", "helm.sh/helm/v3/cmd/helm", "HELM_VERSION"),
    "kubeconform": (
        "github.com/yannh/kubeconform",
        "github.com/yannh/kubeconform/cmd/kubeconform",
        "KUBECONFORM_VERSION",
    ),
}


class ToolError(ServiceError):
    """A tool is missing or cannot be installed; the message says what to run."""


def tools_dir() -> Path:
    path = cache_dir() / "tools"
    (path / "bin").mkdir(parents=True, exist_ok=True)
    return path


def _run(cmd: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _go_module_version(binary: Path, module: str) -> str | None:
    """The module version Go embedded in `binary` (`go version -m`), or the stamp we wrote."""
    go = shutil.which("go")
    if go is not None:
        out = _run([go, "version", "-m", str(binary)]).stdout
        match = re.search(rf"^\s*mod\s+{re.escape(module)}\s+(\S+)", out, re.MULTILINE)
        if match:
            return match.group(1)
    stamp = binary.with_name(f".{binary.name}.version")
    if stamp.exists():
        return stamp.read_text().strip()
    return None


def _self_reported_version(name: str, binary: Path) -> str | None:
    """What the tool says about itself (release builds only; `go install` builds say less)."""
    cmd = [str(binary), "version", "--template", "{{.Version}}"] if name == "helm" else [str(binary), "-v"]
    try:
        out = _run(cmd, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out or None


def _find_go_tool(name: str) -> Path | None:
    module, _, key = GO_TOOLS[name]
    want = versions()[key]
    cached = tools_dir() / "bin" / name
    if cached.exists() and _go_module_version(cached, module) == want:
        return cached
    on_path = shutil.which(name)
    if on_path is not None:
        path = Path(on_path)
        if want in {_go_module_version(path, module), _self_reported_version(name, path)}:
            return path
    return None


def _install_go_tool(name: str) -> Path:
    module, package, key = GO_TOOLS[name]
    version = versions()[key]
    go = shutil.which("go")
    if go is None:
        raise ToolError(
            f"{name} {version} is not in {tools_dir() / 'bin'} and Go is not installed to build it; "
            f"install Go 1.24+ (or put a {name} {version} binary on PATH) and rerun `make tools`"
        )
    bin_dir = tools_dir() / "bin"
    print(f"building {name} {version} with `go install` (takes a few minutes on 2 cores) ...", flush=True)
    env = {**os.environ, "GOBIN": str(bin_dir), "CGO_ENABLED": "0"}
    proc = subprocess.run(
        [go, "install", f"{package}@{version}"], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ToolError(
            f"`go install {package}@{version}` failed (exit {proc.returncode}); is the Go module proxy "
            f"reachable and does it serve {module} {version}?\n{proc.stderr[-2000:]}"
        )
    binary = bin_dir / name
    binary.with_name(f".{name}.version").write_text(version + "\n")
    return binary


def helm_bin() -> Path:
    """The pinned helm binary; raises ToolError naming `make tools` when it is missing."""
    found = _find_go_tool("helm")
    if found is None:
        raise ToolError(f"helm {versions()['HELM_VERSION']} is not installed: run `make tools`")
    return found


def kubeconform_bin() -> Path:
    """The pinned kubeconform binary; raises ToolError naming `make tools` when it is missing."""
    found = _find_go_tool("kubeconform")
    if found is None:
        raise ToolError(f"kubeconform {versions()['KUBECONFORM_VERSION']} is not installed: run `make tools`")
    return found


def promtool_bin() -> Path:
    """promtool from PATH (Debian's `prometheus` package puts it in /usr/bin)."""
    found = shutil.which("promtool")
    if found is None:
        raise ToolError(
            "promtool is not installed: run `make tools` (as root) or `apt-get install prometheus`"
        )
    return Path(found)


def checkov_bin() -> Path:
    """checkov from its own virtualenv, at CHECKOV_VERSION."""
    venv = tools_dir() / "checkov-venv"
    binary = venv / "bin" / "checkov"
    if not binary.exists() or _checkov_version(venv) != checkov_version():
        raise ToolError(f"checkov {checkov_version()} is not installed in {venv}: run `make tools`")
    return binary


def _checkov_version(venv: Path) -> str | None:
    py = venv / "bin" / "python"
    if not py.exists():
        return None
    out = _run([str(py), "-c", "import importlib.metadata as m; print(m.version('checkov'))"]).stdout
    return out.strip() or None


def ensure_go_tool(name: str) -> Path:
    return _find_go_tool(name) or _install_go_tool(name)


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt run (a parallel `make tools`) holds the lock for a while: wait, do not fail.
    cmd = ["apt-get", "-o", "DPkg::Lock::Timeout=600", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)


def ensure_promtool() -> Path:
    found = shutil.which("promtool")
    if found is not None:
        return Path(found)
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ToolError(
            "promtool is missing; install Prometheus' promtool (Debian/Ubuntu: "
            "`sudo apt-get install prometheus`) and rerun"
        )
    print("installing promtool (Debian package `prometheus`) ...", flush=True)
    install = ("install", "-y", "--no-install-recommends", "prometheus")
    proc = _apt_get(*install)
    if proc.returncode != 0:
        # A fresh machine has no package lists yet.
        _apt_get("update")
        proc = _apt_get(*install)
    found = shutil.which("promtool")
    if proc.returncode != 0 or found is None:
        raise ToolError(
            f"`apt-get install prometheus` failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
        )
    return Path(found)


def ensure_checkov() -> Path:
    venv = tools_dir() / "checkov-venv"
    if _checkov_version(venv) == checkov_version():
        return venv / "bin" / "checkov"
    print(f"installing checkov {checkov_version()} into {venv} ...", flush=True)
    if not (venv / "bin" / "python").exists():
        proc = _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
        if proc.returncode != 0:
            raise ToolError(f"cannot create {venv} (is python3-venv installed?):\n{proc.stderr[-2000:]}")
    proc = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"checkov=={checkov_version()}"],
        timeout=1800,
    )
    if proc.returncode != 0:
        raise ToolError(f"`pip install checkov=={checkov_version()}` failed:\n{proc.stderr[-2000:]}")
    return venv / "bin" / "checkov"


def ensure_all() -> dict[str, Path]:
    return {
        "helm": ensure_go_tool("helm"),
        "kubeconform": ensure_go_tool("kubeconform"),
        "promtool": ensure_promtool(),
        "checkov": ensure_checkov(),
    }


def main() -> int:
    try:
        tools = ensure_all()
    except ToolError as exc:
        print(f"make tools: {exc}", file=sys.stderr)
        return 1
    for name, path in tools.items():
        print(f"{name:12} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
