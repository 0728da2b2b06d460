"""A second Kafka broker secured like the Strimzi `tweets` cluster: SASL_SSL, SCRAM-SHA-512, ACLs.

The plain `KafkaBroker` with other listeners layered over its configuration:

- SASL_SSL on `bind:kafka_port`, advertised as `advertised:kafka_port` (the clients' listener;
  Strimzi's `tls` listener, port 9093 behind the bootstrap Service);
- CONTROLLER and REPLICATION on loopback, TLS with client certificates (as Strimzi's
  internal listeners); the broker's own certificate is the only super user;
- StandardAuthorizer, no access without an ACL, no automatic topic creation.

Topics, SCRAM users and ACLs are created after start with the Admin API (KafkaProvision.java)
from k8s/strimzi, over the replication listener with the broker's certificate.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devtools.services.common import ServiceError, port_open, require_java, versions
from devtools.services.kafka import KafkaBroker, kafka_jars
from devtools.services.secured import sources
from devtools.services.secured.material import Material, SecuredConfig

PROVISION_SOURCE = Path(__file__).with_name("KafkaProvision.java")


class SecuredKafka:
    def __init__(self, config: SecuredConfig, material: Material) -> None:
        self.config = config
        self.material = material
        self.broker = KafkaBroker(
            port=config.kafka_port,
            controller_port=config.kafka_controller_port,
            name="secured-kafka",
            host=config.advertised,
            heap=config.kafka_heap,
            bind=config.bind,
            overrides=self._overrides(),
            ssl_context=None,  # set in up(): the CA may not exist yet
            port_env="TS_SECURED_KAFKA_PORT",
        )
        self.provision_log = self.broker.home / "provision.log"

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def log_file(self) -> Path:
        return self.broker.log_file

    def _overrides(self) -> dict[str, str]:
        c, m = self.config, self.material
        super_user = f"User:CN={sources.kafka_cluster_name()}-kafka,O=io.strimzi"
        return {
            "listeners": (
                f"SASL_SSL://{c.bind}:{c.kafka_port},CONTROLLER://127.0.0.1:{c.kafka_controller_port},"
                f"REPLICATION://127.0.0.1:{c.kafka_replication_port}"
            ),
            "advertised.listeners": (
                f"SASL_SSL://{c.advertised}:{c.kafka_port},REPLICATION://127.0.0.1:{c.kafka_replication_port}"
            ),
            "listener.security.protocol.map": "CONTROLLER:SSL,REPLICATION:SSL,SASL_SSL:SASL_SSL",
            "inter.broker.listener.name": "REPLICATION",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
            ),
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(m.kafka_keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(m.cluster_ca.cert),
            "listener.name.controller.ssl.client.auth": "required",
            "listener.name.replication.ssl.client.auth": "required",
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": super_user,
            "allow.everyone.if.no.acl.found": "false",
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # The cleaner's default 128 MiB buffer does not fit the small heap (OutOfMemoryError).
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        }

    def _admin_properties(self) -> str:
        m = self.material
        return "".join(
            f"{k}={v}\n"
            for k, v in {
                "bootstrap.servers": f"127.0.0.1:{self.config.kafka_replication_port}",
                "security.protocol": "SSL",
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": m.kafka_keystore,
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": m.cluster_ca.cert,
                "request.timeout.ms": 30000,
            }.items()
        )

    def _spec(self) -> dict[str, object]:
        users = sources.kafka_users()
        return {
            "topics": [
                {"name": t.name, "partitions": t.partitions, "replicas": t.replicas, "config": t.config}
                for t in sources.topics()
            ],
            "scram": [{"user": u.name, "password": self.material.kafka_password(u.name)} for u in users],
            "acls": [
                {
                    "user": a.user,
                    "resourceType": a.resource_type,
                    "name": a.name,
                    "patternType": a.pattern_type,
                    "operation": a.operation,
                    "host": a.host,
                }
                for u in users
                for a in u.acls
            ],
        }

    def provision(self, timeout: float = 180.0) -> None:
        """Create the topics, SCRAM users and ACLs of k8s/strimzi (idempotent)."""
        work = self.material.dir
        props, spec = work / "kafka-admin.properties", work / "kafka-provision.json"
        for path, text in ((props, self._admin_properties()), (spec, json.dumps(self._spec()))):
            path.touch(mode=0o600)
            path.write_text(text)
        java = require_java(versions()["JAVA_HOME_KAFKA"], 17)
        cmd = [
            str(java), "-Xmx128m", "-XX:TieredStopAtLevel=1", "-Dlog4j2.level=WARN",
            "-cp", str(kafka_jars() / "*"), str(PROVISION_SOURCE), str(props), str(spec),
        ]  # fmt: skip
        try:
            with open(self.provision_log, "ab") as log:
                done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        finally:
            spec.unlink(missing_ok=True)
        if done.returncode != 0:
            raise ServiceError(f"creating topics, users and ACLs failed; see {self.provision_log}")

    def is_up(self) -> bool:
        self.broker.ssl_context = self.material.kafka_ssl_context()
        return self.broker.is_up()

    def up(self, timeout: float = 120.0) -> bool:
        """Start and provision the broker unless it answers already; True if this call started it."""
        self.broker.ssl_context = self.material.kafka_ssl_context()
        if self.broker.is_up():
            return False
        if port_open("127.0.0.1", self.config.kafka_replication_port):
            raise ServiceError(
                f"port {self.config.kafka_replication_port} is taken; set TS_SECURED_KAFKA_REPLICATION_PORT"
            )
        started = self.broker.up(timeout)
        try:
            self.provision()
        except (ServiceError, subprocess.TimeoutExpired):
            self.broker.down()
            raise
        return started

    def down(self) -> bool:
        return self.broker.down()

    def pid(self) -> int | None:
        return self.broker.pid()
