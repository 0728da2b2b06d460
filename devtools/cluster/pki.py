"""The cluster's certificates and keys, made with openssl under `paths.PKI_DIR` (never the repo).

One CA signs everything (serving certs, client certs whose CN/O are the Kubernetes user and
groups RBAC sees); the service-account key pair signs the pods' tokens. Existing files are
kept, so a restarted cluster keeps trusting the kubeconfigs already handed out.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devtools.services.common import ServiceError

from .network import GATEWAY_IP, KUBERNETES_SERVICE_IP
from .paths import PKI_DIR

DAYS = 3650


@dataclass(frozen=True)
class Cert:
    name: str
    cn: str
    org: str = ""
    server: bool = False
    client: bool = False
    sans: tuple[str, ...] = field(default=())


APISERVER_SANS = (
    f"IP:{KUBERNETES_SERVICE_IP}",
    f"IP:{GATEWAY_IP}",
    "IP:127.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)

CERTS = (
    Cert("apiserver", "kube-apiserver", server=True, sans=APISERVER_SANS),
    # The apiserver's identity towards the kubelet (logs, exec, port-forward).
    Cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters", client=True),
    Cert("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
    Cert("etcd-server", "etcd", server=True, sans=("IP:127.0.0.1", "DNS:localhost")),
    Cert("admin", "kubernetes-admin", "system:masters", client=True),
    Cert("controller-manager", "system:kube-controller-manager", client=True),
    Cert("scheduler", "system:kube-scheduler", client=True),
    Cert("kube-proxy", "system:kube-proxy", client=True),
    # The Node authorizer knows the kubelet by this name and group.
    Cert("kubelet", "system:node:localhost", "system:nodes", client=True),
    Cert(
        "kubelet-server", "localhost", server=True, sans=("DNS:localhost", "IP:127.0.0.1", f"IP:{GATEWAY_IP}")
    ),
)


def _openssl(*args: str, stdin: str | None = None) -> None:
    proc = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"`openssl {' '.join(args[:2])}` failed: {proc.stderr.strip()[-1000:]}")


def _key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    path.chmod(0o600)


def crt(name: str) -> Path:
    return PKI_DIR / f"{name}.crt"


def key(name: str) -> Path:
    return PKI_DIR / f"{name}.key"


def _ca() -> None:
    if crt("ca").exists() and key("ca").exists():
        return
    _key(key("ca"))
    _openssl(
        "req", "-x509", "-new", "-key", str(key("ca")), "-days", str(DAYS), "-subj", "/CN=tweet-sentiment-cluster-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", str(crt("ca")),
    )  # fmt: skip


def _issue(cert: Cert) -> None:
    if crt(cert.name).exists() and key(cert.name).exists():
        return
    _key(key(cert.name))
    subject = f"/CN={cert.cn}" + (f"/O={cert.org}" if cert.org else "")
    usages = [u for u, on in (("serverAuth", cert.server), ("clientAuth", cert.client)) if on]
    ext = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={','.join(usages)}",
    ]
    if cert.sans:
        ext.append(f"subjectAltName={','.join(cert.sans)}")
    csr = PKI_DIR / f"{cert.name}.csr"
    extfile = PKI_DIR / f"{cert.name}.ext"
    extfile.write_text("\n".join(ext) + "\n")
    _openssl("req", "-new", "-key", str(key(cert.name)), "-subj", subject, "-out", str(csr))
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(crt("ca")), "-CAkey", str(key("ca")), "-CAcreateserial",
        "-days", str(DAYS), "-extfile", str(extfile), "-out", str(crt(cert.name)),
    )  # fmt: skip
    csr.unlink()
    extfile.unlink()


def _service_account_keys() -> None:
    if key("sa").exists() and (PKI_DIR / "sa.pub").exists():
        return
    _key(key("sa"))
    _openssl("pkey", "-in", str(key("sa")), "-pubout", "-out", str(PKI_DIR / "sa.pub"))


def ensure() -> None:
    PKI_DIR.mkdir(parents=True, exist_ok=True)
    _ca()
    for cert in CERTS:
        _issue(cert)
    _service_account_keys()
