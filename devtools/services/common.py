"""Paths, pinned versions, process and port helpers shared by the local services."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from devtools.harness.poll import PipelineError, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]


class ServiceError(RuntimeError):
    """A local service could not be installed or started; the message says why and what to do."""


def versions() -> dict[str, str]:
    """`versions.env` as a dict (KEY=VALUE lines, `#` comments)."""
    out: dict[str, str] = {}
    for line in (REPO_ROOT / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def cache_dir() -> Path:
    """Downloads (jars, distributions, tools): kept between runs, never in the repo."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tweet-sentiment"
    path = Path(os.environ.get("TS_CACHE_DIR", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def state_dir() -> Path:
    """Running services' data, logs and pid files.

    Outside $HOME because Elasticsearch runs as its own user when we are root, and root's
    home is not readable by other users.
    """
    path = Path(os.environ.get("TS_STATE_DIR", "/var/tmp/tweet-sentiment"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for(
    check: Callable[[], bool], timeout: float, what: str, alive: Callable[[], bool] | None = None
) -> None:
    """Poll `check` until it is true; fail early if `alive` says the process died."""
    wait_until(check, timeout, what, alive=alive, error=ServiceError)


def require_java(java_home: str, min_major: int) -> Path:
    java = Path(java_home) / "bin" / "java"
    if not java.exists():
        found = shutil.which("java")
        if found is None:
            raise ServiceError(
                f"Java {min_major}+ is required but {java} does not exist and no `java` is on PATH; "
                f"install a JDK {min_major}+ and set its path in versions.env"
            )
        java = Path(found)
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError) as exc:
        raise ServiceError(f"cannot read the Java version of {java}: {out!r}") from exc
    if major < min_major:
        raise ServiceError(f"{java} is Java {major}; Java {min_major}+ is required")
    return java


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as dead.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def read_pid(pid_file: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        if pid_alive(pid):
            return pid
    return None


def stop_pid(pid_file: Path, timeout: float = 30.0, sig: int = signal.SIGTERM) -> bool:
    """Signal the process group in `pid_file` and wait for it; SIGKILL after `timeout`."""
    pid = read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    try:
        wait_until(lambda: not pid_alive(pid), timeout, f"pid {pid} to exit", interval=0.2)
    except PipelineError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 60, f"pid {pid} to exit after SIGKILL", interval=0.1)
    pid_file.unlink(missing_ok=True)
    return True


def maven_resolve(coordinates: list[str], dest: Path, what: str, exclude: tuple[str, ...] = ()) -> Path:
    """Copy `coordinates` and their runtime dependencies from Maven Central into `dest` once."""
    marker = dest / ".complete"
    if marker.exists():
        return dest
    if shutil.which("mvn") is None:
        raise ServiceError(f"{what}: Maven (`mvn`) is required to fetch jars; apt-get install maven")
    dest.mkdir(parents=True, exist_ok=True)
    exclusions = "".join(
        "<exclusion><groupId>{}</groupId><artifactId>{}</artifactId></exclusion>".format(*e.split(":"))
        for e in exclude
    )
    deps = "\n".join(
        "<dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version>{}"
        "<exclusions>{}</exclusions></dependency>".format(
            *(c.split(":")[:3]),
            f"<type>{c.split(':')[3]}</type>" if c.count(":") >= 3 else "",
            exclusions,
        )
        for c in coordinates
    )
    pom = dest / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>local</groupId><artifactId>fetch</artifactId><version>0</version>"
        f"<dependencies>{deps}</dependencies></project>"
    )
    cmd = [
        "mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={dest}", "-DincludeScope=runtime",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"{what}: Maven could not resolve {coordinates}:\n{result.stdout[-3000:]}")
    marker.write_text("\n".join(coordinates) + "\n")
    return dest


def spawn(
    cmd: list[str],
    log_file: Path,
    pid_file: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start `cmd` in its own session (so it outlives us and can be stopped as a group)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            user=user,
            start_new_session=True,
        )
    pid_file.write_text(str(proc.pid))
    return proc
