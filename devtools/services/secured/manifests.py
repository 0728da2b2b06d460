"""The Kubernetes objects Strimzi 1.2 and ECK 3.5 would create, pointing at the host's backends.

Names, types and keys are the operators' (the chart reads them unmodified); labels are the
operators' where anything selects on them, plus `app.kubernetes.io/managed-by:
tweet-sentiment-devtools`. What differs from a real operator:

- the Services have no selector: an EndpointSlice of ours sends them to `advertised:port`
  on the host (the real, non-standard ports: 9193 behind 9093, 9201 behind 9200);
- Kafka advertises the host address, not the per-broker Services, so after bootstrap
  clients connect to `advertised:kafka_port` directly (the certificate names that IP);
- only the `tls` listener (SASL_SSL, `tcp-clientstls` 9093, what the chart uses) has an
  endpoint; `tcp-clients` and `tcp-replication` exist on the Service but lead nowhere;
- no CA key Secrets (`tweets-cluster-ca`, `tweets-es-http-ca-internal`) leave the host.
"""

from __future__ import annotations

import base64
from typing import Any

import yaml

from devtools.services.common import ServiceError
from devtools.services.secured import sources
from devtools.services.secured.material import (
    Material,
    SecuredConfig,
    es_http_service,
    kafka_bootstrap_service,
)

MANAGED_BY = {"app.kubernetes.io/managed-by": "tweet-sentiment-devtools"}


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _secret(
    name: str, ns: str, data: dict[str, bytes | str], labels: dict[str, str], type_: str = "Opaque"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": {**labels, **MANAGED_BY}},
        "type": type_,
        "data": {k: _b64(v) for k, v in data.items()},
    }


def _service_with_slice(
    name: str,
    ns: str,
    labels: dict[str, str],
    ports: list[dict[str, Any]],
    host: str,
    backends: dict[str, int],
) -> list[dict[str, Any]]:
    """A Service without selector and the EndpointSlice that backs the ports in `backends`
    (port name -> real port on `host`)."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": {**labels, **MANAGED_BY}},
        "spec": {"type": "ClusterIP", "ports": ports},
    }
    endpoint_slice = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{name}-host",
            "namespace": ns,
            "labels": {
                # The link to the Service; "managed-by" keeps the EndpointSlice controller off it.
                "kubernetes.io/service-name": name,
                "endpointslice.kubernetes.io/managed-by": "tweet-sentiment-devtools",
                **MANAGED_BY,
            },
        },
        "addressType": "IPv6" if ":" in host else "IPv4",
        "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
        "ports": [
            {"name": port_name, "port": port, "protocol": "TCP"} for port_name, port in backends.items()
        ],
    }
    return [service, endpoint_slice]


def kafka_objects(config: SecuredConfig, material: Material) -> list[dict[str, Any]]:
    ns = config.namespace
    cluster = sources.kafka_cluster_name()
    strimzi = {"strimzi.io/cluster": cluster, "strimzi.io/kind": "Kafka"}
    ca_password = material.passwords()["cluster-ca-p12"]["password"]
    objects = [
        _secret(
            f"{cluster}-cluster-ca-cert",
            ns,
            {
                "ca.crt": material.cluster_ca.cert.read_bytes(),
                "ca.p12": material.cluster_ca_p12.read_bytes(),
                "ca.password": ca_password,
            },
            {**strimzi, "strimzi.io/component-type": "certificate-authority"},
        )
    ]
    for user in sources.kafka_users():
        password = material.kafka_password(user.name)
        jaas = f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{user.name}" password="{password}";'
        objects.append(
            _secret(
                user.name,
                ns,
                {"password": password, "sasl.jaas.config": jaas},
                {"strimzi.io/cluster": cluster, "strimzi.io/kind": "KafkaUser"},
            )
        )
    # Strimzi's bootstrap Service ports: replication, then one per internal listener.
    listeners = sources.kafka_internal_listeners()
    ports = [{"name": "tcp-replication", "port": 9091, "protocol": "TCP", "targetPort": 9091}]
    ports += [
        {"name": ln.port_name, "port": ln.port, "protocol": "TCP", "targetPort": ln.port} for ln in listeners
    ]
    # Ours is the TLS + SCRAM listener, the one the chart's SASL_SSL bootstrap address uses.
    (ours,) = [ln for ln in listeners if ln.tls and ln.authentication == "scram-sha-512"]
    objects += _service_with_slice(
        kafka_bootstrap_service(),
        ns,
        {
            **strimzi,
            "strimzi.io/name": f"{cluster}-kafka",
            "strimzi.io/component-type": "kafka",
            "strimzi.io/discovery": "true",
        },
        ports,
        config.advertised,
        {ours.port_name: config.kafka_port},
    )
    return objects


def es_objects(config: SecuredConfig, material: Material) -> list[dict[str, Any]]:
    ns = config.namespace
    es = sources.es_cluster_name()
    eck = {"common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": es}
    job = sources.es_job_user()
    roles = dict(sources.es_roles_secret())
    roles["metadata"] = {**roles["metadata"], "namespace": ns}
    objects = [
        _secret(
            f"{es}-es-http-certs-public",
            ns,
            {"ca.crt": material.es_http_ca.cert.read_bytes(), "tls.crt": material.es_http.cert.read_bytes()},
            eck,
        ),
        _secret(
            f"{es}-es-elastic-user",
            ns,
            {"elastic": material.es_password("elastic")},
            {**eck, "eck.k8s.elastic.co/credentials": "true"},
        ),
        roles,
        # As `make k8s-infra` creates it (the file-realm Secret of Elasticsearch spec.auth).
        _secret(
            job.secret,
            ns,
            {
                "username": job.username,
                job.password_key: material.es_password(job.username),
                "roles": ",".join(job.roles),
            },
            {"app.kubernetes.io/part-of": "tweet-sentiment"},
            type_="kubernetes.io/basic-auth",
        ),
    ]
    objects += _service_with_slice(
        es_http_service(),
        ns,
        eck,
        [{"name": "https", "port": 9200, "protocol": "TCP", "targetPort": 9200}],
        config.advertised,
        {"https": config.es_port},
    )
    return objects


def objects(config: SecuredConfig, material: Material | None = None) -> list[dict[str, Any]]:
    """Every object for `config.namespace`; the key material must exist (`secured up`)."""
    material = material or Material()
    issued_for = material.identity()
    if issued_for != config.identity:
        raise ServiceError(
            f"the certificates were issued for {issued_for}, not {config.identity}; "
            "run `secured up` with the same --namespace/--bind first"
        )
    return kafka_objects(config, material) + es_objects(config, material)


def dump(docs: list[dict[str, Any]]) -> str:
    """YAML for `kubectl apply -f -` (contains secrets: write it to a 0600 file or a pipe)."""
    return yaml.safe_dump_all(docs, sort_keys=False)
