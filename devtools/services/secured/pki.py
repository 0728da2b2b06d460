"""Certificate authorities and server certificates with openssl, truststores with keytool.

RSA 2048 and SHA-256, like the operators' defaults. Private keys are unencrypted PKCS#8
PEM (what Kafka's PEM keystore and Elasticsearch both read), mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devtools.services.common import ServiceError

DAYS = 365


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ServiceError(f"openssl {args[0]} failed: {done.stderr.strip()[-2000:]}")


@dataclass(frozen=True)
class KeyPair:
    key: Path
    cert: Path

    def exists(self) -> bool:
        return self.key.exists() and self.cert.exists()


def create_ca(pair: KeyPair, subject: str) -> None:
    """A self-signed CA that signs leaf certificates only (pathlen 0, as Strimzi's)."""
    pair.key.parent.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-new", "-newkey", "rsa:2048", "-noenc", "-sha256", "-days", str(DAYS),
        "-keyout", str(pair.key), "-out", str(pair.cert), "-subj", subject,
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    pair.key.chmod(0o600)


def issue(ca: KeyPair, pair: KeyPair, subject: str, names: list[str]) -> None:
    """A server+client certificate for `names` (DNS names and IP addresses) signed by `ca`."""
    sans = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in dict.fromkeys(names))
    csr = pair.cert.with_suffix(".csr")
    ext = pair.cert.with_suffix(".ext")
    ext.write_text(
        f"subjectAltName={sans}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    try:
        _openssl(
            "req", "-new", "-newkey", "rsa:2048", "-noenc", "-keyout", str(pair.key),
            "-out", str(csr), "-subj", subject,
        )  # fmt: skip
        pair.key.chmod(0o600)
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(ca.cert), "-CAkey", str(ca.key),
            "-set_serial", f"0x{secrets.token_hex(16)}", "-days", str(DAYS), "-sha256",
            "-extfile", str(ext), "-out", str(pair.cert),
        )  # fmt: skip
    finally:
        csr.unlink(missing_ok=True)
        ext.unlink(missing_ok=True)


def subject_alt_names(cert: Path) -> list[str]:
    """The SAN entries of a certificate, as openssl prints them (`DNS:x`, `IP Address:y`)."""
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line.strip() for line in out.splitlines()[1:] if line.strip()]
    return [part.strip() for line in lines for part in line.split(",")]


def pkcs12_truststore(cert: Path, out: Path, password: str, keytool: Path, alias: str = "ca.crt") -> None:
    """A PKCS#12 truststore with `cert` as a trusted entry (what Strimzi's `ca.p12` is).

    keytool, not openssl: Java only trusts PKCS#12 certificate entries that carry its
    trusted-key-usage attribute, which openssl 3.0 cannot write."""
    out.unlink(missing_ok=True)
    env = {**os.environ, "TS_STOREPASS": password}
    cmd = [
        str(keytool), "-importcert", "-noprompt", "-storetype", "PKCS12", "-keystore", str(out),
        "-storepass:env", "TS_STOREPASS", "-alias", alias, "-file", str(cert),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise ServiceError(f"keytool -importcert failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")
    out.chmod(0o600)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
