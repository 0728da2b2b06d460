"""A single-node Elasticsearch from the integ-test-zip on Maven Central (no x-pack)."""

from __future__ import annotations

import base64
import json
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .common import (
    ServiceError,
    cache_dir,
    maven_resolve,
    port_open,
    read_pid,
    require_java,
    spawn,
    state_dir,
    stop_pid,
    versions,
    wait_for,
)

ES_USER = "tweet-es"


def es_health(
    url: str,
    timeout: float = 2.0,
    ssl_context: ssl.SSLContext | None = None,
    auth: tuple[str, str] | None = None,
) -> str | None:
    """The cluster health status (green/yellow/red) or None when nothing answers.

    `ssl_context` and `auth` (user, password) are for a node with security enabled."""
    request = urllib.request.Request(f"{url}/_cluster/health")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=ssl_context) as resp:
            return str(json.load(resp).get("status"))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def es_distribution() -> Path:
    """The unpacked distribution, shared read-only by every local instance."""
    v = versions()["ES_VERSION"]
    jar_dir = maven_resolve(
        [f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{v}:zip"],
        cache_dir() / "elasticsearch" / v / "zip",
        "Elasticsearch",
    )
    # Unpacked under the state dir: the ES user must be able to read it, and root's
    # home (where the cache is) is closed to other users.
    target = state_dir() / "dist" / f"elasticsearch-{v}"
    if not (target / "bin" / "elasticsearch").exists():
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(jar_dir / f"elasticsearch-{v}.zip") as zf:
            zf.extractall(tmp)
        (inner,) = list(tmp.iterdir())
        for path in inner.rglob("*"):
            # zipfile drops unix modes: make everything readable by the ES user and the
            # launchers executable.
            executable = path.is_dir() or "bin" in path.relative_to(inner).parts
            path.chmod(0o755 if executable else 0o644)
        inner.rename(target)
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_user() -> str | None:
    """ES refuses to run as root: run it as a dedicated system user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
            check=True,
        )
    return ES_USER


@dataclass
class ElasticsearchNode:
    """One single-node cluster. A secured node (devtools.services.secured) passes its
    security `settings` (layered over the plain ones), the `config_files` they refer to
    (certificates, file-realm users, roles), and the `ssl_context`/`auth` its probe needs."""

    port: int = field(default_factory=lambda: int(os.environ.get("TS_ES_PORT", "9200")))
    transport_port: int = 0
    name: str = "elasticsearch"
    heap: str = "768m"
    host: str = "localhost"
    bind: str = "127.0.0.1"
    settings: dict[str, str] = field(default_factory=dict)
    config_files: dict[str, bytes] = field(default_factory=dict)
    ssl_context: ssl.SSLContext | None = None
    auth: tuple[str, str] | None = field(default=None, repr=False)
    port_env: str = "TS_ES_PORT"

    def __post_init__(self) -> None:
        if not self.transport_port:
            self.transport_port = self.port + 100
        self.home = state_dir() / self.name
        self.log_file = self.home / "elasticsearch.log"
        self.pid_file = self.home / "elasticsearch.pid"

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def is_up(self) -> bool:
        return es_health(self.url, ssl_context=self.ssl_context, auth=self.auth) in ("green", "yellow")

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def up(self, timeout: float = 180.0) -> bool:
        """Start the node unless one answers already. Returns True if this call started it."""
        if self.is_up():
            return False
        if port_open(self.bind, self.port) or port_open("127.0.0.1", self.transport_port):
            raise ServiceError(
                f"port {self.port} or {self.transport_port} is taken by something that is not a "
                f"healthy Elasticsearch; free it or set {self.port_env}"
            )
        v = versions()
        java = require_java(v["JAVA_HOME_ES"], 21)
        dist = es_distribution()
        user = ensure_user()
        conf = self.home / "config"
        data = self.home / "data"
        logs = self.home / "logs"
        for d in (conf, data, logs):
            d.mkdir(parents=True, exist_ok=True)
        for item in (dist / "config").iterdir():
            if item.is_file() and not (conf / item.name).exists():
                shutil.copy(item, conf / item.name)
        settings = {
            "cluster.name": f"tweet-sentiment-{self.name}",
            "node.name": "local",
            "discovery.type": "single-node",
            "network.host": self.bind,
            # The transport layer stays on loopback whatever the HTTP layer binds.
            "transport.host": "127.0.0.1",
            "http.port": str(self.port),
            "transport.port": str(self.transport_port),
            "path.data": str(data),
            "path.logs": str(logs),
            # A dev machine's disk may be fuller than the production watermarks allow.
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            "action.destructive_requires_name": "false",
            # The integ-test zip carries the security module; local runs are plain HTTP.
            "xpack.security.enabled": "false",
            **self.settings,
        }
        (conf / "elasticsearch.yml").write_text("".join(f"{k}: {v}\n" for k, v in settings.items()))
        for rel, content in self.config_files.items():
            # Keys and password hashes: readable by the ES user only (chowned below).
            target = conf / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(0o600)
        (conf / "jvm.options.d").mkdir(exist_ok=True)
        (conf / "jvm.options.d" / "heap.options").write_text(f"-Xms{self.heap}\n-Xmx{self.heap}\n")
        if user:
            uid = pwd.getpwnam(user).pw_uid
            for path in [self.home, *self.home.rglob("*")]:
                os.chown(path, uid, -1)
            self.home.parent.chmod(0o755)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ES_JAVA_HOME": str(java.parent.parent),
            "ES_PATH_CONF": str(conf),
            "HOME": str(self.home),
        }
        proc = spawn(
            [str(dist / "bin" / "elasticsearch")],
            self.log_file,
            self.pid_file,
            env=env,
            cwd=self.home,
            user=user,
        )
        wait_for(
            self.is_up,
            timeout,
            f"Elasticsearch on {self.url} (log: {self.log_file})",
            lambda: proc.poll() is None,
        )
        return True

    def down(self, timeout: float = 60.0) -> bool:
        return stop_pid(self.pid_file, timeout)

    def kill(self) -> None:
        stop_pid(self.pid_file, timeout=0, sig=signal.SIGKILL)

    def wipe(self) -> None:
        self.down()
        shutil.rmtree(self.home, ignore_errors=True)
