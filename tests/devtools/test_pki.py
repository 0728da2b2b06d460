"""devtools.pki through the local cluster's certificates (devtools/cluster/pki.py), made in a
temporary folder: what the apiserver, etcd and the kubelet are configured to present and trust,
checked without booting the cluster. The secured services' certificates are checked by
test_secured_offline.py and, against real Kafka and Elasticsearch, test_secured_services.py."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from devtools.cluster import pki as cluster_pki


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_cluster_pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster_pki, "PKI_DIR", tmp_path)
    cluster_pki.ensure()
    ca = load(cluster_pki.crt("ca"))
    assert ca.subject.rfc4514_string() == "CN=tweet-sentiment-cluster-ca"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    for spec in cluster_pki.CERTS:
        cert = load(cluster_pki.crt(spec.name))
        cert.verify_directly_issued_by(ca)
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == spec.cn
        orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
        assert orgs == ([spec.org] if spec.org else [])
        usages = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert (ExtendedKeyUsageOID.SERVER_AUTH in usages, ExtendedKeyUsageOID.CLIENT_AUTH in usages) == (
            spec.server,
            spec.client,
        )
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == cluster_pki.DAYS
        if spec.sans:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            expected = [
                x509.IPAddress(ipaddress.ip_address(n)) if n[0].isdigit() else x509.DNSName(n)
                for n in spec.sans
            ]
            assert list(names) == expected
        key = serialization.load_pem_private_key(cluster_pki.key(spec.name).read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.name == "secp256r1"
        assert key.public_key() == cert.public_key()
        assert (cluster_pki.key(spec.name).stat().st_mode & 0o777) == 0o600
    sa_key = serialization.load_pem_private_key(cluster_pki.key("sa").read_bytes(), password=None)
    assert serialization.load_pem_public_key((tmp_path / "sa.pub").read_bytes()) == sa_key.public_key()

    # Existing files are kept: a restarted cluster keeps trusting the kubeconfigs handed out.
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    cluster_pki.ensure()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
