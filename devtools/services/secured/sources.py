"""What the secured backends take from the operator manifests in k8s/ (their single source).

Users, ACLs, topics, roles and resource names are read here and nowhere else, so a change
to k8s/ changes the local backends and the manifests we put into a test cluster alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools.services.common import REPO_ROOT

K8S_DIR = REPO_ROOT / "k8s"
USERS_FILE = K8S_DIR / "strimzi" / "base" / "users-base.yaml"
TOPICS_FILE = K8S_DIR / "strimzi" / "dev" / "topics-dev.yaml"
KAFKA_FILE = K8S_DIR / "strimzi" / "dev" / "kafka-dev.yaml"
ROLES_FILE = K8S_DIR / "eck" / "base" / "roles-base.yaml"
ES_FILE = K8S_DIR / "eck" / "dev" / "elasticsearch-dev.yaml"

# Strimzi's ACL vocabulary -> Kafka's enum names (AclBinding in the Admin API).
_RESOURCE_TYPES = {
    "topic": "TOPIC",
    "group": "GROUP",
    "cluster": "CLUSTER",
    "transactionalId": "TRANSACTIONAL_ID",
}
_PATTERN_TYPES = {"literal": "LITERAL", "prefix": "PREFIXED"}


def _docs(path: Path, kind: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict) and d.get("kind") == kind]


@dataclass(frozen=True)
class Acl:
    """One allowed (principal, operation) on a resource pattern, in Kafka's terms."""

    user: str
    resource_type: str  # TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID
    name: str
    pattern_type: str  # LITERAL, PREFIXED
    operation: str  # READ, WRITE, DESCRIBE, ...
    host: str = "*"

    def allows(self, user: str, resource_type: str, name: str, operation: str) -> bool:
        matches = name == self.name if self.pattern_type == "LITERAL" else name.startswith(self.name)
        return (user, resource_type, operation.upper()) == (
            self.user,
            self.resource_type,
            self.operation,
        ) and (matches or self.name == "*")


@dataclass(frozen=True)
class KafkaUserSpec:
    name: str
    acls: tuple[Acl, ...] = field(default=())


def kafka_users() -> list[KafkaUserSpec]:
    """The SCRAM-SHA-512 KafkaUsers of users-base.yaml with their ACLs (all `allow`)."""
    users = []
    for doc in _docs(USERS_FILE, "KafkaUser"):
        spec = doc.get("spec") or {}
        if (spec.get("authentication") or {}).get("type") != "scram-sha-512":
            continue
        name = doc["metadata"]["name"]
        acls = []
        for rule in (spec.get("authorization") or {}).get("acls") or []:
            if rule.get("type", "allow") != "allow":
                raise ValueError(f"{USERS_FILE}: deny rules are not supported here ({name})")
            res = rule["resource"]
            # Strimzi v1 has `operations`; the older singular `operation` is accepted too.
            ops = rule.get("operations") or [rule["operation"]]
            res_type = _RESOURCE_TYPES[res["type"]]
            res_name = "kafka-cluster" if res_type == "CLUSTER" else res["name"]
            pattern = _PATTERN_TYPES[res.get("patternType", "literal")]
            acls += [Acl(name, res_type, res_name, pattern, op.upper(), rule.get("host", "*")) for op in ops]
        users.append(KafkaUserSpec(name, tuple(acls)))
    return users


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replicas: int
    config: dict[str, str]


def topics() -> list[TopicSpec]:
    """The KafkaTopics of topics-dev.yaml (name: spec.topicName or metadata.name)."""
    out = []
    for doc in _docs(TOPICS_FILE, "KafkaTopic"):
        spec = doc.get("spec") or {}
        config = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in (spec.get("config") or {}).items()
        }
        out.append(
            TopicSpec(
                spec.get("topicName") or doc["metadata"]["name"],
                int(spec.get("partitions", 1)),
                int(spec.get("replicas", 1)),
                config,
            )
        )
    return out


def kafka_cluster_name() -> str:
    """metadata.name of the Strimzi Kafka (`tweets`): prefix of its Services and Secrets."""
    return str(_docs(KAFKA_FILE, "Kafka")[0]["metadata"]["name"])


@dataclass(frozen=True)
class KafkaListenerSpec:
    name: str
    port: int
    tls: bool
    authentication: str | None

    @property
    def port_name(self) -> str:
        """The Service port name Strimzi gives this listener (its backwards-compatible names)."""
        if (self.name, self.port) == ("plain", 9092):
            return "tcp-clients"
        if (self.name, self.port) == ("tls", 9093):
            return "tcp-clientstls"
        return f"tcp-{self.name}"


def kafka_internal_listeners() -> list[KafkaListenerSpec]:
    spec = _docs(KAFKA_FILE, "Kafka")[0]["spec"]["kafka"]
    return [
        KafkaListenerSpec(
            str(item["name"]),
            int(item["port"]),
            bool(item.get("tls", False)),
            (item.get("authentication") or {}).get("type"),
        )
        for item in spec.get("listeners") or []
        if item.get("type") == "internal"
    ]


def es_cluster_name() -> str:
    """metadata.name of the ECK Elasticsearch (`tweets`)."""
    return str(_docs(ES_FILE, "Elasticsearch")[0]["metadata"]["name"])


def es_roles_secret() -> dict[str, Any]:
    """The roles Secret of roles-base.yaml, as it is in the file."""
    (doc,) = _docs(ROLES_FILE, "Secret")
    return doc


def es_roles_yml() -> str:
    """The `roles.yml` text of that Secret (what ECK hands to the file realm)."""
    secret = es_roles_secret()
    return str((secret.get("stringData") or {})["roles.yml"])


def es_role_names() -> list[str]:
    roles = yaml.safe_load(es_roles_yml())
    return list(roles or [])


CHART_VALUES = REPO_ROOT / "charts" / "tweet-sentiment" / "values.yaml"
MAKEFILE = REPO_ROOT / "Makefile"


@dataclass(frozen=True)
class EsJobUser:
    """The job's file-realm user as the chart reads it (values.yaml `elasticsearch.jobUser`)
    and as `make k8s-infra` creates its Secret (kubernetes.io/basic-auth with `roles`)."""

    username: str
    secret: str
    password_key: str
    roles: tuple[str, ...]


def chart_values() -> dict[str, Any]:
    return dict(yaml.safe_load(CHART_VALUES.read_text()))


def es_job_user() -> EsJobUser:
    job = chart_values()["elasticsearch"]["jobUser"]
    # The user -> role mapping lives in the Makefile's k8s-infra target only.
    match = re.search(
        r"create secret generic (\S+) --type=kubernetes.io/basic-auth.*?--from-literal=roles=([\w,-]+)",
        MAKEFILE.read_text(),
        re.DOTALL,
    )
    if match is None or match.group(1) != job["existingSecret"]:
        raise ValueError(
            f"{MAKEFILE}: no `{job['existingSecret']}` basic-auth Secret with roles in k8s-infra"
        )
    roles = tuple(match.group(2).split(","))
    unknown = set(roles) - set(es_role_names())
    if unknown:
        raise ValueError(f"roles {sorted(unknown)} of {job['username']} are not in {ROLES_FILE}")
    return EsJobUser(str(job["username"]), str(job["existingSecret"]), str(job["passwordKey"]), roles)
