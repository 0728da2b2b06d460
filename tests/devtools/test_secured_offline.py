"""The secured services' pieces that need no running service: the single
sources in k8s/, certificates and manifests for the test cluster's addresses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools import pki
from devtools.services.secured import manifests, sources
from devtools.services.secured.material import Material, SecuredConfig, es_password_hash


def test_sources_follow_the_manifests() -> None:
    users = {u.name: u for u in sources.kafka_users()}
    assert set(users) == {"tweet-producer", "tweet-sentiment-job"}
    assert [(t.name, t.partitions) for t in sources.topics()] == [("posts", 3), ("posts.deadletter", 1)]
    assert sources.es_job_user().roles == ("tweet_sentiment_writer",)
    assert [ln.port_name for ln in sources.kafka_internal_listeners()] == ["tcp-clients", "tcp-clientstls"]


def test_es_password_hash_has_the_pbkdf2_layout() -> None:
    hashed = es_password_hash("secret")
    # {PBKDF2}<cost>$<base64 32-byte salt>$<base64 32-byte key>: 44 characters each.
    assert re.fullmatch(r"\{PBKDF2\}10000\$[A-Za-z0-9+/]{43}=\$[A-Za-z0-9+/]{43}=", hashed)
    assert es_password_hash("secret") != hashed  # salted


def test_manifests_for_the_test_cluster(tmp_path: Path) -> None:
    """What the k8s test applies: bind 10.244.0.1, its own namespace. No traffic is sent."""
    config = SecuredConfig(namespace="ts-e2e", bind="10.244.0.1")
    material = Material(root=tmp_path)
    material.ensure(config)
    assert (material.dir.stat().st_mode & 0o777) == 0o700
    assert (material.passwords_file.stat().st_mode & 0o777) == 0o600
    kafka_sans = pki.subject_alt_names(material.kafka_broker.cert)
    assert "IP Address:10.244.0.1" in kafka_sans
    assert "DNS:tweets-kafka-bootstrap.ts-e2e.svc.cluster.local" in kafka_sans
    es_sans = pki.subject_alt_names(material.es_http.cert)
    assert {"IP Address:10.244.0.1", "DNS:tweets-es-http.ts-e2e.svc"} <= set(es_sans)
    assert "DNS:localhost" not in es_sans

    docs = manifests.objects(config, material)
    slices = [d for d in docs if d["kind"] == "EndpointSlice"]
    assert {s["endpoints"][0]["addresses"][0] for s in slices} == {"10.244.0.1"}
    assert all(d["metadata"]["namespace"] == "ts-e2e" for d in docs)

    with pytest.raises(Exception, match="issued for"):
        manifests.objects(SecuredConfig(namespace="other", bind="10.244.0.1"), material)

    # Same material, new namespace: CAs and passwords kept, leaf certificates re-issued.
    ca, passwords = material.cluster_ca.cert.read_bytes(), material.passwords()
    material.ensure(SecuredConfig(namespace="other", bind="10.244.0.1"))
    assert material.cluster_ca.cert.read_bytes() == ca
    assert material.passwords() == passwords
    assert "DNS:tweets-kafka-bootstrap.other.svc" in pki.subject_alt_names(material.kafka_broker.cert)
