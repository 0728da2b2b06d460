"""The cluster's certificates and keys (devtools.pki: EC P-256) under `paths.PKI_DIR` (never the repo).

One CA signs everything (serving certs, client certs whose CN/O are the Kubernetes user and
groups RBAC sees); the service-account key pair signs the pods' tokens. Existing files are
kept, so a restarted cluster keeps trusting the kubeconfigs already handed out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devtools import pki

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
    KUBERNETES_SERVICE_IP,
    GATEWAY_IP,
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

CERTS = (
    Cert("apiserver", "kube-apiserver", server=True, sans=APISERVER_SANS),
    # The apiserver's identity towards the kubelet (logs, exec, port-forward).
    Cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters", client=True),
    Cert("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
    Cert("etcd-server", "etcd", server=True, sans=("127.0.0.1", "localhost")),
    Cert("admin", "kubernetes-admin", "system:masters", client=True),
    Cert("controller-manager", "system:kube-controller-manager", client=True),
    Cert("scheduler", "system:kube-scheduler", client=True),
    Cert("kube-proxy", "system:kube-proxy", client=True),
    # The Node authorizer knows the kubelet by this name and group.
    Cert("kubelet", "system:node:localhost", "system:nodes", client=True),
    Cert("kubelet-server", "localhost", server=True, sans=("localhost", "127.0.0.1", GATEWAY_IP)),
)


def crt(name: str) -> Path:
    return PKI_DIR / f"{name}.crt"


def key(name: str) -> Path:
    return PKI_DIR / f"{name}.key"


def _pair(name: str) -> pki.KeyPair:
    return pki.KeyPair(key(name), crt(name))


def ensure() -> None:
    """The CA, every certificate of CERTS and the service-account key pair; existing files are kept."""
    PKI_DIR.mkdir(parents=True, exist_ok=True)
    if not _pair("ca").exists():
        pki.create_ca(
            _pair("ca"), "/CN=tweet-sentiment-cluster-ca", path_length=None, days=DAYS, ec_p256=True
        )
    for cert in CERTS:
        if not _pair(cert.name).exists():
            subject = f"/CN={cert.cn}" + (f"/O={cert.org}" if cert.org else "")
            pki.issue(
                _pair("ca"), _pair(cert.name), subject, list(cert.sans),
                server=cert.server, client=cert.client, days=DAYS, ec_p256=True,
            )  # fmt: skip
    if not (key("sa").exists() and (PKI_DIR / "sa.pub").exists()):
        pki.new_key(key("sa"), ec_p256=True)
        pki.public_key_pem(key("sa"), PKI_DIR / "sa.pub")
