"""Settings of the secured backends and their key material on disk: CAs, certificates, passwords.

Everything lives in `<state dir>/secured/secrets` (mode 0700, files 0600), generated once
and kept: the CAs and passwords survive restarts, so manifests applied to a cluster stay
valid. Leaf certificates are re-issued when the namespace or addresses they name change.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import secrets
import ssl
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

from devtools import pki
from devtools.services.common import ServiceError, state_dir
from devtools.services.secured import sources

DEFAULT_NAMESPACE = "tweet-sentiment"


def _env_port(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


@dataclass(frozen=True)
class SecuredConfig:
    """Where the secured backends listen and which namespace their certificates name.

    Ports (env var, default): TS_SECURED_KAFKA_PORT 9193 (SASL_SSL clients), controller
    and replication on the next two ports (TS_SECURED_KAFKA_CONTROLLER_PORT,
    TS_SECURED_KAFKA_REPLICATION_PORT, loopback only); TS_SECURED_ES_PORT 9201 (HTTPS),
    TS_SECURED_ES_TRANSPORT_PORT 9301 (loopback only). Clear of the plain services'
    9092/9093 and 9200/9300."""

    namespace: str = DEFAULT_NAMESPACE
    bind: str = "127.0.0.1"
    advertised: str = ""  # the broker address clients are sent to; default: `bind`
    kafka_port: int = field(default_factory=lambda: _env_port("TS_SECURED_KAFKA_PORT", 9193))
    kafka_controller_port: int = field(
        default_factory=lambda: _env_port("TS_SECURED_KAFKA_CONTROLLER_PORT", 0)
    )
    kafka_replication_port: int = field(
        default_factory=lambda: _env_port("TS_SECURED_KAFKA_REPLICATION_PORT", 0)
    )
    es_port: int = field(default_factory=lambda: _env_port("TS_SECURED_ES_PORT", 9201))
    es_transport_port: int = field(default_factory=lambda: _env_port("TS_SECURED_ES_TRANSPORT_PORT", 9301))
    kafka_heap: str = "256m"
    es_heap: str = "512m"

    def __post_init__(self) -> None:
        ipaddress.ip_address(self.bind)  # an IP: it goes into certificates and EndpointSlices
        if not self.advertised:
            object.__setattr__(self, "advertised", self.bind)
        ipaddress.ip_address(self.advertised)
        if not self.kafka_controller_port:
            object.__setattr__(self, "kafka_controller_port", self.kafka_port + 1)
        if not self.kafka_replication_port:
            object.__setattr__(self, "kafka_replication_port", self.kafka_port + 2)

    @property
    def identity(self) -> dict[str, str]:
        """What the leaf certificates depend on."""
        return {"namespace": self.namespace, "bind": self.bind, "advertised": self.advertised}


def home() -> Path:
    return state_dir() / "secured"


def service_names(service: str, namespace: str) -> list[str]:
    """The DNS names of a Service as pods resolve it (cluster domain cluster.local)."""
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]


def kafka_bootstrap_service() -> str:
    return f"{sources.kafka_cluster_name()}-kafka-bootstrap"


def es_http_service() -> str:
    return f"{sources.es_cluster_name()}-es-http"


def es_password_hash(password: str, cost: int = 10000) -> str:
    """Elasticsearch's `{PBKDF2}` file-realm hash: PBKDF2-HMAC-SHA512, 32-byte salt and key.

    The file realm reads the algorithm from the prefix, so no setting has to match."""
    salt = secrets.token_bytes(32)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, cost, dklen=32)
    return f"{{PBKDF2}}{cost}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def _password() -> str:
    # Alphanumeric: safe inside a JAAS line and a basic-auth header without quoting.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


class Material:
    """The files under `<home>/secrets`. `ensure()` creates what is missing."""

    def __init__(self, root: Path | None = None) -> None:
        self.dir = (root or home()) / "secrets"
        d = self.dir
        self.cluster_ca = pki.KeyPair(d / "cluster-ca.key", d / "cluster-ca.crt")
        self.cluster_ca_p12 = d / "cluster-ca.p12"
        self.kafka_broker = pki.KeyPair(d / "kafka-broker.key", d / "kafka-broker.crt")
        self.kafka_keystore = d / "kafka-broker.pem"
        self.es_http_ca = pki.KeyPair(d / "es-http-ca.key", d / "es-http-ca.crt")
        self.es_http = pki.KeyPair(d / "es-http.key", d / "es-http.crt")
        self.es_transport_ca = pki.KeyPair(d / "es-transport-ca.key", d / "es-transport-ca.crt")
        self.es_transport = pki.KeyPair(d / "es-transport.key", d / "es-transport.crt")
        self.passwords_file = d / "passwords.json"
        self.identity_file = d / "identity.json"

    # ---- passwords -------------------------------------------------------------------------

    def passwords(self) -> dict[str, dict[str, str]]:
        """{"kafka": {user: pw}, "es": {user: pw}, "cluster-ca-p12": {"password": pw}}."""
        try:
            data: dict[str, dict[str, str]] = json.loads(self.passwords_file.read_text())
        except FileNotFoundError as exc:
            raise ServiceError(f"no credentials in {self.dir}: run `secured up` first") from exc
        return data

    def kafka_password(self, user: str) -> str:
        return self.passwords()["kafka"][user]

    def es_password(self, user: str) -> str:
        return self.passwords()["es"][user]

    def _ensure_passwords(self) -> None:
        data = json.loads(self.passwords_file.read_text()) if self.passwords_file.exists() else {}
        wanted = {
            "kafka": [u.name for u in sources.kafka_users()],
            "es": ["elastic", sources.es_job_user().username],
            "cluster-ca-p12": ["password"],
        }
        changed = False
        for group, users in wanted.items():
            for user in users:
                if user not in data.setdefault(group, {}):
                    data[group][user] = _password()
                    changed = True
        if changed:
            tmp = self.passwords_file.with_suffix(".tmp")
            tmp.touch(mode=0o600)
            tmp.write_text(json.dumps(data, indent=2) + "\n")
            tmp.replace(self.passwords_file)

    # ---- certificates ----------------------------------------------------------------------

    def identity(self) -> dict[str, str] | None:
        if not self.identity_file.exists():
            return None
        data: dict[str, str] = json.loads(self.identity_file.read_text())
        return data

    def ensure(self, config: SecuredConfig) -> None:
        """Generate the CAs, passwords and (re-)issue leaf certificates for `config`."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self._ensure_passwords()
        new_cas = False
        for pair, subject in (
            # Subjects as the operators write theirs.
            (self.cluster_ca, "/O=io.strimzi/CN=cluster-ca v0"),
            (self.es_http_ca, f"/OU={sources.es_cluster_name()}/CN={sources.es_cluster_name()}-http"),
            (
                self.es_transport_ca,
                f"/OU={sources.es_cluster_name()}/CN={sources.es_cluster_name()}-transport",
            ),
        ):
            if not pair.exists():
                pki.create_ca(pair, subject)
                new_cas = True
        if new_cas or not self.cluster_ca_p12.exists():
            password = self.passwords()["cluster-ca-p12"]["password"]
            pki.pkcs12_truststore(self.cluster_ca.cert, self.cluster_ca_p12, password)
        leaves = (self.kafka_broker, self.es_http, self.es_transport)
        if new_cas or self.identity() != config.identity or not all(p.exists() for p in leaves):
            self._issue_leaves(config)
            self.identity_file.write_text(json.dumps(config.identity, indent=2) + "\n")

    def _issue_leaves(self, config: SecuredConfig) -> None:
        ns = config.namespace
        loopback = ["127.0.0.1", "localhost"]
        kafka = sources.kafka_cluster_name()
        es = sources.es_cluster_name()
        # One broker certificate for every listener, as Strimzi's broker certificates; its
        # subject is the super user of the mTLS controller and replication listeners.
        pki.issue(
            self.cluster_ca,
            self.kafka_broker,
            f"/O=io.strimzi/CN={kafka}-kafka",
            [*service_names(kafka_bootstrap_service(), ns), config.advertised, config.bind, *loopback],
        )
        self.kafka_keystore.touch(mode=0o600)
        self.kafka_keystore.write_text(
            self.kafka_broker.key.read_text()
            + self.kafka_broker.cert.read_text()
            + self.cluster_ca.cert.read_text()
        )
        http_names = [*service_names(es_http_service(), ns), config.bind]
        if ipaddress.ip_address(config.bind).is_loopback:
            http_names.append("localhost")
        pki.issue(self.es_http_ca, self.es_http, f"/OU={es}/CN={es}-es-http.{ns}.es.local", http_names)
        pki.issue(
            self.es_transport_ca, self.es_transport, f"/OU={es}/CN=local.node.{es}.{ns}.es.local", loopback
        )

    # ---- clients ---------------------------------------------------------------------------

    def kafka_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cluster_ca.cert))

    def es_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.es_http_ca.cert))

    def summary(self) -> dict[str, str]:
        """Where things are (no secret values): for the CLI and the README."""
        return {k: str(v) for k, v in asdict(self.cluster_ca).items()} | {
            "cluster_ca_p12": str(self.cluster_ca_p12),
            "es_http_ca": str(self.es_http_ca.cert),
            "passwords": str(self.passwords_file),
        }
