"""A single-node Apache Kafka broker in KRaft mode, from the Maven Central jars."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import ssl
import struct
import uuid
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

LOG4J2 = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: INFO
"""


def broker_answers(
    host: str, port: int, timeout: float = 2.0, ssl_context: ssl.SSLContext | None = None
) -> bool:
    """True when a Kafka broker on host:port answers an ApiVersions request.

    With `ssl_context` the probe speaks TLS first (an SSL or SASL_SSL listener answers
    ApiVersions before any SASL authentication)."""
    client_id = b"tweet-sentiment-probe"
    # Request header v1: api_key 18 (ApiVersions), api_version 0, correlation id, client id.
    body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    try:
        with contextlib.ExitStack() as stack:
            sock = stack.enter_context(socket.create_connection((host, port), timeout=timeout))
            if ssl_context is not None:
                sock = stack.enter_context(ssl_context.wrap_socket(sock, server_hostname=host))
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = sock.recv(4)
            if len(header) < 4:
                return False
            size = struct.unpack(">i", header)[0]
            data = b""
            while len(data) < size:
                chunk = sock.recv(size - len(data))
                if not chunk:
                    return False
                data += chunk
            correlation_id, error_code = struct.unpack(">ih", data[:6])
            return bool(correlation_id == 7 and error_code == 0)
    except OSError:
        return False


def kafka_jars() -> Path:
    v = versions()
    coordinate = f"org.apache.kafka:kafka_{v['SCALA_BINARY_VERSION']}:{v['KAFKA_VERSION']}"
    # The broker logs through slf4j 2 -> log4j2; without the binding it logs nothing at all.
    logging = [
        "org.slf4j:slf4j-api:2.0.17",
        "org.apache.logging.log4j:log4j-slf4j2-impl:2.25.4",
    ]
    return maven_resolve([coordinate, *logging], cache_dir() / "kafka" / v["KAFKA_VERSION"], "Kafka")


def format_arguments(cluster_id: str, config: Path) -> list[str]:
    """kafka-storage's arguments. `--cluster-id=ID`, not `-t ID`: a random id is URL-safe
    base64 and starts with "-" one time in 64, which argparse would read as an option."""
    return ["format", f"--cluster-id={cluster_id}", f"--config={config}"]


@dataclass
class KafkaBroker:
    """One broker+controller. `name` separates instances (tests start extra ones to kill).

    `host` is the advertised host; `bind` the address the client listener binds. A secured
    broker (devtools.services.secured) layers its listeners over the plain ones with
    `overrides` and probes over TLS with `ssl_context`."""

    port: int = field(default_factory=lambda: int(os.environ.get("TS_KAFKA_PORT", "9092")))
    controller_port: int = 0
    name: str = "kafka"
    host: str = "localhost"
    heap: str = "512m"
    bind: str = "127.0.0.1"
    overrides: dict[str, str] = field(default_factory=dict)
    ssl_context: ssl.SSLContext | None = None
    port_env: str = "TS_KAFKA_PORT"

    def __post_init__(self) -> None:
        if not self.controller_port:
            self.controller_port = self.port + 1
        self.home = state_dir() / self.name
        self.data_dir = self.home / "data"
        self.log_file = self.home / "kafka.log"
        self.pid_file = self.home / "kafka.pid"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def is_up(self) -> bool:
        return broker_answers(self.host, self.port, ssl_context=self.ssl_context)

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def _write_config(self) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.bind}:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "3",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.flush.interval.messages": "9223372036854775807",
            **self.overrides,
        }
        config = self.home / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.home / "log4j2.yaml").write_text(LOG4J2)
        return config

    def _java(self) -> list[str]:
        v = versions()
        java = require_java(v["JAVA_HOME_KAFKA"], 17)
        return [
            str(java),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.yaml'}",
            "-cp",
            str(kafka_jars() / "*"),
        ]

    def up(self, timeout: float = 90.0) -> bool:
        """Start the broker unless one answers already. Returns True if this call started it."""
        if self.is_up():
            return False
        if port_open(self.bind, self.port) or port_open("127.0.0.1", self.controller_port):
            raise ServiceError(
                f"port {self.port} or {self.controller_port} is taken by something that is not a "
                f"Kafka broker; free it or set {self.port_env}"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        if not (self.data_dir / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            fmt = spawn(
                [*self._java(), "kafka.tools.StorageTool", *format_arguments(cluster_id, config)],
                self.home / "format.log",
                self.home / "format.pid",
            )
            if fmt.wait(timeout=120) != 0:
                raise ServiceError(f"formatting Kafka storage failed; see {self.home / 'format.log'}")
        proc = spawn([*self._java(), "kafka.Kafka", str(config)], self.log_file, self.pid_file)
        wait_for(
            self.is_up,
            timeout,
            f"Kafka on {self.bootstrap} (log: {self.log_file})",
            lambda: proc.poll() is None,
        )
        return True

    def down(self, timeout: float = 30.0) -> bool:
        return stop_pid(self.pid_file, timeout)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        import signal

        stop_pid(self.pid_file, timeout=0, sig=signal.SIGKILL)

    def wipe(self) -> None:
        import shutil

        self.down()
        shutil.rmtree(self.home, ignore_errors=True)
