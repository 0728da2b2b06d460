"""Certificate authorities, certificates and Java truststores, with `cryptography`: the secured
local services' (devtools/services/secured) and the local Kubernetes cluster's (devtools/cluster).

SHA-256 signatures; RSA 2048 keys (the operators' defaults, for Kafka and Elasticsearch) or
EC P-256 (the cluster's). Private keys are unencrypted PKCS#8 PEM (what Kafka's PEM keystore,
Elasticsearch and the Kubernetes components read), mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAYS = 365
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_NAME_OIDS = {
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
}


@dataclass(frozen=True)
class KeyPair:
    key: Path
    cert: Path

    def exists(self) -> bool:
        return self.key.exists() and self.cert.exists()


def _name(subject: str) -> x509.Name:
    """`/O=a/CN=b` (openssl's -subj form, the order kept) as an X.509 name."""
    parts = [part.split("=", 1) for part in subject.strip("/").split("/")]
    return x509.Name([x509.NameAttribute(_NAME_OIDS[k], v) for k, v in parts])


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def new_key(path: Path, *, ec_p256: bool = False) -> PrivateKey:
    """A new RSA 2048 (or EC P-256) private key, written to `path`."""
    key: PrivateKey = (
        ec.generate_private_key(ec.SECP256R1()) if ec_p256 else rsa.generate_private_key(65537, 2048)
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(path, pem)
    return key


def _sign(
    builder: x509.CertificateBuilder, key: PrivateKey, issuer_key: PrivateKey, out: Path, days: int
) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        builder.public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )
    out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, key_encipherment=not cert_sign, key_cert_sign=cert_sign,
        crl_sign=cert_sign, content_commitment=False, data_encipherment=False, key_agreement=False,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def create_ca(
    pair: KeyPair, subject: str, *, path_length: int | None = 0, days: int = DAYS, ec_p256: bool = False
) -> None:
    """A self-signed CA; `path_length` 0 (the default, as Strimzi's) signs leaf certificates only."""
    key = new_key(pair.key, ec_p256=ec_p256)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(subject))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
    )
    _sign(builder, key, key, pair.cert, days)


def issue(
    ca: KeyPair,
    pair: KeyPair,
    subject: str,
    names: list[str],
    *,
    server: bool = True,
    client: bool = True,
    days: int = DAYS,
    ec_p256: bool = False,
) -> None:
    """A certificate for `names` (DNS names and IP addresses; none: no SAN extension), for
    servers, clients or both, signed by `ca`."""
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey), ca.key
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    usages = [
        u
        for u, on in ((ExtendedKeyUsageOID.SERVER_AUTH, server), (ExtendedKeyUsageOID.CLIENT_AUTH, client))
        if on
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca_cert.subject)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if names:
        sans = [
            x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n)
            for n in dict.fromkeys(names)
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    _sign(builder, new_key(pair.key, ec_p256=ec_p256), ca_key, pair.cert, days)


def public_key_pem(key: Path, out: Path) -> None:
    """The public half of the private key in `key`, as PEM (SubjectPublicKeyInfo)."""
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    out.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def subject_alt_names(cert: Path) -> list[str]:
    """The SAN entries of a certificate, as openssl prints them (`DNS:x`, `IP Address:y`)."""
    sans = x509.load_pem_x509_certificate(cert.read_bytes()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    return [
        f"IP Address:{n.value}" if isinstance(n, x509.IPAddress) else f"DNS:{n.value}" for n in sans.value
    ]


def pkcs12_truststore(cert: Path, out: Path, password: str, alias: str = "ca.crt") -> None:
    """A PKCS#12 truststore with `cert` as a trusted entry (what Strimzi's `ca.p12` is): Java
    only trusts certificate entries that carry its trusted-key-usage attribute, which
    `serialize_java_truststore` writes (as keytool does)."""
    entry = pkcs12.PKCS12Certificate(x509.load_pem_x509_certificate(cert.read_bytes()), alias.encode())
    encryption = serialization.BestAvailableEncryption(password.encode())
    _write(out, pkcs12.serialize_java_truststore([entry], encryption))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
