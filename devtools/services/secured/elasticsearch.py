"""A second Elasticsearch node secured like the ECK `tweets` cluster.

The plain `ElasticsearchNode` with ECK's security settings layered over its configuration:
HTTPS with a certificate of our HTTP CA (ECK's `<name>-es-http-certs-*`), transport TLS with
a CA of its own, the reserved realm off and the file realm first, holding `elastic`
(superuser, ECK's `<name>-es-elastic-user`) and the job user from the chart's values with
the roles of k8s/eck/base/roles-base.yaml.
"""

from __future__ import annotations

from pathlib import Path

from devtools.services.elasticsearch import ElasticsearchNode
from devtools.services.secured import sources
from devtools.services.secured.material import Material, SecuredConfig, es_password_hash

SETTINGS = {
    "xpack.security.enabled": "true",
    "xpack.security.http.ssl.enabled": "true",
    "xpack.security.http.ssl.key": "certs/http.key",
    "xpack.security.http.ssl.certificate": "certs/http.crt",
    "xpack.security.http.ssl.certificate_authorities": '["certs/http-ca.crt"]',
    "xpack.security.transport.ssl.enabled": "true",
    "xpack.security.transport.ssl.verification_mode": "certificate",
    "xpack.security.transport.ssl.key": "certs/transport.key",
    "xpack.security.transport.ssl.certificate": "certs/transport.crt",
    "xpack.security.transport.ssl.certificate_authorities": '["certs/transport-ca.crt"]',
    # ECK's realm setup: `elastic` lives in the file realm, so the reserved realm is off.
    "xpack.security.authc.reserved_realm.enabled": "false",
    "xpack.security.authc.realms.file.file1.order": "-100",
    # Unlike ECK: no native realm. It lives in the .security index, whose mapping needs
    # analysis-common, which the integ-test-zip lacks (creating the index fails).
    "xpack.security.authc.realms.native.native1.enabled": "false",
}
# For the same reason: do not copy the built-in roles into .security (ten failed tries,
# each a stack trace in the log, otherwise). An unknown property is ignored, should it go.
JVM_OPTIONS = "-Des.queryable_built_in_roles_enabled=false\n"


class SecuredElasticsearch:
    def __init__(self, config: SecuredConfig, material: Material) -> None:
        self.config = config
        self.material = material
        self.node = ElasticsearchNode(
            port=config.es_port,
            transport_port=config.es_transport_port,
            name="secured-es",
            heap=config.es_heap,
            host=config.bind,
            bind=config.bind,
            settings=dict(SETTINGS),
            port_env="TS_SECURED_ES_PORT",
        )

    @property
    def url(self) -> str:
        return f"https://{self.config.bind}:{self.config.es_port}"

    @property
    def log_file(self) -> Path:
        return self.node.log_file

    def _wire_client(self) -> None:
        self.node.ssl_context = self.material.es_ssl_context()
        self.node.auth = ("elastic", self.material.es_password("elastic"))

    def config_files(self) -> dict[str, bytes]:
        """Files of the node's config dir: certificates, file-realm users and roles."""
        m = self.material
        job = sources.es_job_user()
        users = {"elastic": m.es_password("elastic"), job.username: m.es_password(job.username)}
        role_members: dict[str, list[str]] = {"superuser": ["elastic"]}
        for role in job.roles:
            role_members.setdefault(role, []).append(job.username)
        return {
            "certs/http.key": m.es_http.key.read_bytes(),
            "certs/http.crt": m.es_http.cert.read_bytes(),
            "certs/http-ca.crt": m.es_http_ca.cert.read_bytes(),
            "certs/transport.key": m.es_transport.key.read_bytes(),
            "certs/transport.crt": m.es_transport.cert.read_bytes(),
            "certs/transport-ca.crt": m.es_transport_ca.cert.read_bytes(),
            "users": "".join(f"{u}:{es_password_hash(p)}\n" for u, p in users.items()).encode(),
            "users_roles": "".join(f"{r}:{','.join(us)}\n" for r, us in role_members.items()).encode(),
            "roles.yml": (sources.es_roles_yml().rstrip("\n") + "\n").encode(),
            "jvm.options.d/security.options": JVM_OPTIONS.encode(),
        }

    def is_up(self) -> bool:
        self._wire_client()
        return self.node.is_up()

    def up(self, timeout: float = 240.0) -> bool:
        """Start the node unless it answers already; True if this call started it."""
        self._wire_client()
        if self.node.is_up():
            return False
        self.node.config_files = self.config_files()
        return self.node.up(timeout)

    def down(self) -> bool:
        return self.node.down()

    def pid(self) -> int | None:
        return self.node.pid()
