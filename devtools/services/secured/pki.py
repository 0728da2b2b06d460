"""Certificate authorities, server certificates and Java truststores, with `cryptography`.

RSA 2048 and SHA-256, like the operators' defaults. Private keys are unencrypted PKCS#8
PEM (what Kafka's PEM keystore and Elasticsearch both read), mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAYS = 365
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


def _new_key(path: Path) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write(path, pem)
    return key


def _sign(
    builder: x509.CertificateBuilder, key: rsa.RSAPrivateKey, issuer_key: rsa.RSAPrivateKey, out: Path
) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        builder.public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=DAYS))
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


def create_ca(pair: KeyPair, subject: str) -> None:
    """A self-signed CA that signs leaf certificates only (pathlen 0, as Strimzi's)."""
    key = _new_key(pair.key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(subject))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
    )
    _sign(builder, key, key, pair.cert)


def issue(ca: KeyPair, pair: KeyPair, subject: str, names: list[str]) -> None:
    """A server+client certificate for `names` (DNS names and IP addresses) signed by `ca`."""
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey), ca.key
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    sans = [
        x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n)
        for n in dict.fromkeys(names)
    ]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca_cert.subject)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    _sign(builder, _new_key(pair.key), ca_key, pair.cert)


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
