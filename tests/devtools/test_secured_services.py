"""The secured local Kafka and Elasticsearch (devtools/services/secured) against real clients.

Both run on 127.0.0.1, started once per session (reused when up, stopped at the end when
this session started them; TS_KEEP_SERVICES=1 keeps them). What may and may not happen is
derived from k8s/strimzi/base/users-base.yaml and k8s/eck/base/roles-base.yaml.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import pki
from devtools.harness.poll import wait_until
from devtools.services.common import ServiceError
from devtools.services.kafka import broker_answers
from devtools.services.secured import manifests, sources
from devtools.services.secured.material import SecuredConfig
from devtools.services.secured.services import SecuredServices
from tests.conftest import KEEP, REPO_ROOT

pytestmark = pytest.mark.secured

PRODUCER, JOB = "tweet-producer", "tweet-sentiment-job"


@pytest.fixture(scope="module")
def secured() -> Iterator[SecuredServices]:
    services = SecuredServices(SecuredConfig())
    try:
        started = services.up()
    except ServiceError as exc:
        pytest.fail(f"cannot start the secured services: {exc}", pytrace=False)
    yield services
    if not KEEP:
        services.down(started)


# ---- Kafka -------------------------------------------------------------------------------------


def kafka_config(services: SecuredServices, user: str, password: str | None = None) -> dict[str, Any]:
    return {
        "bootstrap_servers": services.kafka.bootstrap,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password if password is not None else services.material.kafka_password(user),
        "ssl_cafile": str(services.material.cluster_ca.cert),
    }


def allowed(user: str, resource_type: str, name: str, operation: str) -> bool:
    acls = [a for u in sources.kafka_users() if u.name == user for a in u.acls]
    return any(a.allows(user, resource_type, name, operation) for a in acls)


def job_group() -> str:
    """A consumer group the job's ACLs allow (Spark's naming, from users-base.yaml)."""
    prefixes = [
        a.name
        for u in sources.kafka_users()
        if u.name == JOB
        for a in u.acls
        if a.resource_type == "GROUP" and a.pattern_type == "PREFIXED" and a.operation == "READ"
    ]
    return f"{prefixes[0]}{uuid.uuid4().hex}"


def log_lines(path: Path, needle: str) -> int:
    return sum(needle in line for line in path.read_text(errors="replace").splitlines())


def test_topics_are_those_of_topics_dev_yaml(secured: SecuredServices) -> None:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(**kafka_config(secured, PRODUCER))
    try:
        for topic in sources.topics():
            assert consumer.partitions_for_topic(topic.name) == set(range(topic.partitions))
    finally:
        consumer.close()


def test_producer_writes_posts_and_the_job_reads_them(secured: SecuredServices) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = "posts"
    assert allowed(PRODUCER, "TOPIC", topic, "WRITE")
    assert allowed(JOB, "TOPIC", topic, "READ")
    marker = uuid.uuid4().hex.encode()
    producer = KafkaProducer(**kafka_config(secured, PRODUCER))
    try:
        producer.send(topic, marker).get(timeout=60)
    finally:
        producer.close()
    consumer = KafkaConsumer(
        topic,
        **kafka_config(secured, JOB),
        group_id=job_group(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=60_000,
    )
    try:
        assert any(record.value == marker for record in consumer)
    finally:
        consumer.close()


def test_producer_may_not_read_what_its_acls_do_not_allow(secured: SecuredServices) -> None:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import TopicAuthorizationFailedError

    topic = "posts"
    assert not allowed(PRODUCER, "TOPIC", topic, "READ")
    consumer = KafkaConsumer(**kafka_config(secured, PRODUCER), consumer_timeout_ms=30_000)
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(sources.topics()[0].partitions)])
        consumer.seek_to_beginning()
        with pytest.raises(TopicAuthorizationFailedError):
            list(consumer)
    finally:
        consumer.close()


def test_job_may_not_write_posts(secured: SecuredServices) -> None:
    from kafka import KafkaProducer
    from kafka.errors import TopicAuthorizationFailedError

    assert not allowed(JOB, "TOPIC", "posts", "WRITE")
    # Without idempotence: an idempotent producer fails earlier, on the cluster ACL it lacks.
    producer = KafkaProducer(**kafka_config(secured, JOB), enable_idempotence=False, max_block_ms=30_000)
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send("posts", b"not allowed").get(timeout=30)
    finally:
        producer.close()


def test_a_wrong_password_is_refused(secured: SecuredServices) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    needle = "invalid credentials with SASL mechanism SCRAM-SHA-512"
    before = log_lines(secured.kafka.log_file, needle)
    # kafka-python retries a refused login until bootstrap_timeout_ms, then gives up.
    with pytest.raises(KafkaTimeoutError, match="bootstrap"):
        KafkaProducer(**kafka_config(secured, PRODUCER, password=uuid.uuid4().hex), bootstrap_timeout_ms=5000)
    wait_until(
        lambda: log_lines(secured.kafka.log_file, needle) > before,
        30,
        "the broker's SCRAM refusal",
        interval=0.2,
    )


def test_a_plaintext_connection_is_refused(secured: SecuredServices) -> None:
    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    host, port = secured.kafka.bootstrap.rsplit(":", 1)
    assert broker_answers(host, int(port), ssl_context=secured.material.kafka_ssl_context())
    assert not broker_answers(host, int(port))
    needle = "(SSL handshake failed)"
    before = log_lines(secured.kafka.log_file, needle)
    with pytest.raises(KafkaTimeoutError, match="bootstrap"):
        KafkaProducer(bootstrap_servers=secured.kafka.bootstrap, bootstrap_timeout_ms=5000)
    wait_until(
        lambda: log_lines(secured.kafka.log_file, needle) > before,
        30,
        "the broker's TLS refusal",
        interval=0.2,
    )


def test_broker_certificate_names_the_bootstrap_service(secured: SecuredServices) -> None:
    sans = pki.subject_alt_names(secured.material.kafka_broker.cert)
    ns = secured.config.namespace
    for name in ("tweets-kafka-bootstrap", f"tweets-kafka-bootstrap.{ns}.svc.cluster.local"):
        assert f"DNS:{name}" in sans
    assert f"IP Address:{secured.config.advertised}" in sans


# ---- Elasticsearch -----------------------------------------------------------------------------


def es_request(
    services: SecuredServices,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    user: str | None = JOB,
    context: ssl.SSLContext | None = None,
) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{services.es.url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    if user is not None:
        token = base64.b64encode(f"{user}:{services.material.es_password(user)}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(
            request, timeout=30, context=context or services.material.es_ssl_context()
        ) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_job_user_creates_and_writes_its_indices_and_templates(secured: SecuredServices) -> None:
    index = f"tweets-sentiment-x{uuid.uuid4().hex[:8]}"
    template = f"tweets-sentiment-t{uuid.uuid4().hex[:8]}"
    try:
        assert es_request(secured, "PUT", f"/{index}", {})[0] == 200
        status, doc = es_request(secured, "POST", f"/{index}/_doc?refresh=true", {"text": "hello"})
        assert status == 201, doc
        status, doc = es_request(
            secured,
            "PUT",
            f"/_index_template/{template}",
            {"index_patterns": [f"{template}*"], "template": {"settings": {"number_of_replicas": 0}}},
        )
        assert status == 200, doc
        assert es_request(secured, "GET", "/_cluster/health")[0] == 200  # `monitor`
    finally:
        es_request(secured, "DELETE", f"/{index}", user="elastic")
        es_request(secured, "DELETE", f"/_index_template/{template}", user="elastic")


def test_job_user_is_refused_elsewhere(secured: SecuredServices) -> None:
    other = f"other-{uuid.uuid4().hex[:8]}"
    assert es_request(secured, "PUT", f"/{other}", {})[0] == 403
    settings = {"persistent": {"cluster.routing.allocation.enable": "all"}}
    assert es_request(secured, "PUT", "/_cluster/settings", settings)[0] == 403
    assert es_request(secured, "GET", f"/{other}", user="elastic")[0] == 404  # nothing was created


def test_no_credentials_is_401(secured: SecuredServices) -> None:
    # (`GET /` is not served: the integ-test-zip has no rest-root module.)
    assert es_request(secured, "GET", "/_cluster/health", user=None)[0] == 401


def test_tls_verifies_against_the_generated_ca_only(secured: SecuredServices) -> None:
    assert es_request(secured, "GET", "/_cluster/health", user="elastic")[0] == 200
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        es_request(secured, "GET", "/_cluster/health", user="elastic", context=ssl.create_default_context())
    sans = pki.subject_alt_names(secured.material.es_http.cert)
    ns = secured.config.namespace
    for name in ("tweets-es-http", f"tweets-es-http.{ns}", f"tweets-es-http.{ns}.svc"):
        assert f"DNS:{name}" in sans
    assert f"DNS:tweets-es-http.{ns}.svc.cluster.local" in sans
    assert f"IP Address:{secured.config.bind}" in sans


# ---- CLI and manifests -------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.services", "secured", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_up_reuses_the_running_services(secured: SecuredServices) -> None:
    kafka_pid, es_pid = secured.kafka.pid(), secured.es.pid()
    done = cli("up")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("already running") == 2
    assert (secured.kafka.pid(), secured.es.pid()) == (kafka_pid, es_pid)
    assert cli("status").returncode == 0
    for user in (PRODUCER, JOB, "elastic"):
        password = secured.material.passwords()["kafka" if user != "elastic" else "es"][user]
        assert password not in done.stdout + done.stderr


def test_cli_refuses_another_namespace_while_running(secured: SecuredServices) -> None:
    done = cli("up", "--namespace", "elsewhere")
    assert done.returncode == 1
    assert "secured down" in done.stderr


EXPECTED_KEYS = {
    ("Secret", "tweets-cluster-ca-cert"): {"ca.crt", "ca.p12", "ca.password"},
    ("Secret", "tweet-producer"): {"password", "sasl.jaas.config"},
    ("Secret", "tweet-sentiment-job"): {"password", "sasl.jaas.config"},
    ("Secret", "tweets-es-http-certs-public"): {"ca.crt", "tls.crt"},
    ("Secret", "tweets-es-elastic-user"): {"elastic"},
    ("Secret", "tweets-es-job-user"): {"username", "password", "roles"},
}


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    if "stringData" in secret:
        return dict(secret["stringData"])
    return {k: base64.b64decode(v).decode("latin-1") for k, v in secret["data"].items()}


def test_manifests_have_the_operators_names_and_keys(secured: SecuredServices) -> None:
    docs = manifests.objects(secured.config)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    for key, keys in EXPECTED_KEYS.items():
        assert set(by_name[key].get("data", {})) == keys, key
    assert by_name[("Secret", "tweets-es-job-user")]["type"] == "kubernetes.io/basic-auth"
    assert by_name[("Secret", "tweets-es-roles")] == {
        **sources.es_roles_secret(),
        "metadata": {**sources.es_roles_secret()["metadata"], "namespace": secured.config.namespace},
    }
    assert all(d["metadata"]["namespace"] == secured.config.namespace for d in docs)

    ca = decoded(by_name[("Secret", "tweets-cluster-ca-cert")])
    assert ca["ca.crt"] == secured.material.cluster_ca.cert.read_text()
    for user in (PRODUCER, JOB):
        secret = decoded(by_name[("Secret", user)])
        assert secret["password"] == secured.material.kafka_password(user)
        assert secret["sasl.jaas.config"] == (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{secret["password"]}";'
        )
    job = decoded(by_name[("Secret", "tweets-es-job-user")])
    assert (job["username"], job["roles"]) == (JOB, "tweet_sentiment_writer")

    kafka_svc = by_name[("Service", "tweets-kafka-bootstrap")]
    assert "selector" not in kafka_svc["spec"]
    assert {(p["name"], p["port"]) for p in kafka_svc["spec"]["ports"]} == {
        ("tcp-replication", 9091),
        ("tcp-clients", 9092),
        ("tcp-clientstls", 9093),
    }
    es_svc = by_name[("Service", "tweets-es-http")]
    assert "selector" not in es_svc["spec"]
    assert [(p["name"], p["port"]) for p in es_svc["spec"]["ports"]] == [("https", 9200)]
    slices = {
        d["metadata"]["labels"]["kubernetes.io/service-name"]: d for d in docs if d["kind"] == "EndpointSlice"
    }
    assert slices["tweets-kafka-bootstrap"]["ports"] == [
        {"name": "tcp-clientstls", "port": secured.config.kafka_port, "protocol": "TCP"}
    ]
    assert slices["tweets-es-http"]["ports"] == [
        {"name": "https", "port": secured.config.es_port, "protocol": "TCP"}
    ]
    for endpoint_slice in slices.values():
        assert endpoint_slice["endpoints"][0]["addresses"] == [secured.config.advertised]


def test_cluster_ca_truststore_opens_with_its_password(secured: SecuredServices, tmp_path: Path) -> None:
    """ca.p12 + ca.password as Java clients use them (keytool lists the trusted CA)."""
    docs = {d["metadata"]["name"]: d for d in manifests.objects(secured.config)}
    secret = docs["tweets-cluster-ca-cert"]["data"]
    store = tmp_path / "ca.p12"
    store.write_bytes(base64.b64decode(secret["ca.p12"]))
    out = subprocess.run(
        ["keytool", "-list", "-keystore", str(store), "-storetype", "PKCS12", "-storepass:env", "PW"],
        capture_output=True,
        text=True,
        env={"PW": base64.b64decode(secret["ca.password"]).decode(), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "trustedCertEntry" in out.stdout


def test_manifests_are_schema_valid(secured: SecuredServices) -> None:
    from devtools.services.common import versions
    from tests.charts.checks import schema_errors

    kube = ".".join(versions()["KUBERNETES_VERSION"].split(".")[:2])
    docs = manifests.objects(secured.config)
    assert [e for d in docs for e in schema_errors(d, Path("/nonexistent"), kube)] == []


def test_manifests_yaml_round_trips(secured: SecuredServices) -> None:
    import yaml

    docs = manifests.objects(secured.config)
    assert list(yaml.safe_load_all(manifests.dump(docs))) == docs
