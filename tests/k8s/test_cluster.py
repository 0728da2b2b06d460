"""The local Kubernetes cluster (devtools/cluster) does what the in-cluster tests rely on.

Real pods of the test-only probe image: DNS through CoreDNS, ClusterIP Services to pods and
to the host, service-account tokens, the default StorageClass with a non-root writer, Pod
Security admission, and no way for a pod's traffic to leave the machine.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from devtools.cluster import network
from devtools.services.common import versions
from tests.k8s.conftest import Kubectl, apply, restricted_pod

pytestmark = pytest.mark.k8s

WAIT = "90s"


def _exec(kubectl: Kubectl, ns: str, pod: str, *args: str, check: bool = True) -> str:
    proc = kubectl("-n", ns, "exec", pod, "--", "/probe", *args, check=check, timeout=60)
    return proc.stdout if check else proc.stdout + proc.stderr + f"\nexit={proc.returncode}"


def _exec_until(kubectl: Kubectl, ns: str, pod: str, *args: str, timeout: float = 30) -> str:
    """Poll a probe command until it succeeds: kube-proxy and CoreDNS pick up a new Service
    (or endpoint) within a second or two of the API having it."""
    deadline = time.monotonic() + timeout
    while True:
        proc = kubectl("-n", ns, "exec", pod, "--", "/probe", *args, check=False, timeout=60)
        if proc.returncode == 0:
            return str(proc.stdout)
        if time.monotonic() > deadline:
            pytest.fail(f"probe {' '.join(args)} in {pod} kept failing: {proc.stdout}{proc.stderr}")


@pytest.fixture(scope="module")
def pods(kubectl: Kubectl, k8s_namespace: str, probe_image: str) -> str:
    """A client pod (with a service account allowed to list pods), an echo server and its Service."""
    ns = k8s_namespace
    apply(
        kubectl,
        ns,
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "driver"}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "driver-pod-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "driver", "namespace": ns}],
        },
    )
    apply(
        kubectl,
        ns,
        restricted_pod("client", probe_image, ["sleep"], serviceAccountName="driver"),
        restricted_pod("echo-server", probe_image, ["serve", "8080"], labels={"app": "echo"}),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo"},
            "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/client", "pod/echo-server", f"--timeout={WAIT}")
    return ns


def test_node_ready_and_server_version(kubectl: Kubectl) -> None:
    version = json.loads(kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
    assert version == f"v{versions()['K8S_CLUSTER_VERSION']}" == "v1.34.4"
    ready = kubectl(
        "get", "node", "localhost", "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'
    )
    assert ready.stdout == "True"


def test_dns_resolves_cluster_names(kubectl: Kubectl, pods: str) -> None:
    ns = pods
    assert _exec(kubectl, ns, "client", "lookup", "kubernetes.default.svc.cluster.local").split() == [
        network.KUBERNETES_SERVICE_IP
    ]
    cluster_ip = kubectl("-n", ns, "get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert _exec_until(kubectl, ns, "client", "lookup", "echo").split() == [cluster_ip]
    assert _exec(kubectl, ns, "client", "lookup", f"echo.{ns}.svc.cluster.local").split() == [cluster_ip]


def test_pod_reaches_pod_through_cluster_ip_service(kubectl: Kubectl, pods: str) -> None:
    ns = pods
    assert _exec_until(kubectl, ns, "client", "get", "http://echo/").strip() == "echo-server"
    cluster_ip = kubectl("-n", ns, "get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert _exec(kubectl, ns, "client", "get", f"http://{cluster_ip}/").strip() == "echo-server"


@pytest.fixture
def host_server() -> Iterator[int]:
    """An HTTP server on the host, on the bridge gateway address (where host services for pods listen)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"hello from the host\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((network.GATEWAY_IP, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_pod_reaches_host_directly_and_through_a_selectorless_service(
    kubectl: Kubectl, pods: str, host_server: int
) -> None:
    ns = pods
    port = host_server
    assert (
        _exec(kubectl, ns, "client", "get", f"http://{network.GATEWAY_IP}:{port}/") == "hello from the host\n"
    )
    apply(
        kubectl,
        ns,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "on-host"},
            "spec": {"ports": [{"port": 80}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "on-host-1", "labels": {"kubernetes.io/service-name": "on-host"}},
            "addressType": "IPv4",
            "ports": [{"port": port, "protocol": "TCP", "name": ""}],
            "endpoints": [{"addresses": [network.GATEWAY_IP]}],
        },
    )
    assert _exec_until(kubectl, ns, "client", "get", "http://on-host/") == "hello from the host\n"


def test_pods_use_service_account_tokens_in_cluster(kubectl: Kubectl, pods: str) -> None:
    ns = pods
    body = _exec(kubectl, ns, "client", "kube", f"/api/v1/namespaces/{ns}/pods")
    assert json.loads(body)["kind"] == "PodList"


def test_default_storage_class_binds_and_non_root_pod_writes(
    kubectl: Kubectl, k8s_namespace: str, probe_image: str
) -> None:
    ns = k8s_namespace
    default = kubectl(
        "get", "storageclass", "-o",
        r'jsonpath={.items[?(@.metadata.annotations.storageclass\.kubernetes\.io/is-default-class=="true")].metadata.name}',
    ).stdout  # fmt: skip
    assert default == "local"
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    writer = restricted_pod(
        "writer",
        probe_image,
        ["write", "/data/hello.txt", "written by uid 185"],
        uid=185,
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        volume_mounts=[{"name": "data", "mountPath": "/data"}],
    )
    apply(kubectl, ns, claim, writer)
    kubectl("-n", ns, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/writer", f"--timeout={WAIT}")
    assert kubectl("-n", ns, "logs", "writer").stdout == "written by uid 185"
    assert kubectl("-n", ns, "get", "pvc", "data", "-o", "jsonpath={.status.phase}").stdout == "Bound"


def test_pod_security_restricted_is_enforced(kubectl: Kubectl, k8s_namespace: str, probe_image: str) -> None:
    pod = restricted_pod("privileged", probe_image, ["sleep"])
    pod["spec"]["securityContext"] = {"runAsUser": 0}
    pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    proc = kubectl("-n", k8s_namespace, "apply", "-f", "-", stdin=json.dumps(pod), check=False)
    assert proc.returncode != 0
    assert "violates PodSecurity" in proc.stderr


def _external_address() -> str:
    """An address outside this machine that the host itself reaches (the package registry)."""
    for host in ("pypi.org", "proxy.golang.org", "deb.debian.org"):
        with contextlib.suppress(OSError):
            addr = socket.getaddrinfo(host, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
            with socket.create_connection((addr, 443), timeout=10):
                return str(addr)
    pytest.fail("the host reaches none of the registries: cannot show that pods cannot")


def test_pod_traffic_cannot_leave_the_machine(kubectl: Kubectl, pods: str) -> None:
    ns = pods
    routes = _exec(kubectl, ns, "client", "routes").splitlines()[1:]
    destinations = {line.split()[1] for line in routes if line.strip()}
    assert "00000000" not in destinations, f"the pod has a default route: {routes}"
    external = _external_address()  # the host connects there (or the test fails above)
    out = _exec(kubectl, ns, "client", "connect", f"{external}:443", "5", check=False)
    assert "exit=0" not in out, out
    assert "connected" not in out, out


def test_apiserver_is_not_on_the_external_address(kubectl: Kubectl) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((_external_address(), 443))
        own = s.getsockname()[0]
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection((own, network.APISERVER_PORT), timeout=3),
    ):
        pass
    rules = subprocess.run(["iptables", "-S", network.INPUT_CHAIN], capture_output=True, text=True).stdout
    assert f"-d {network.POD_CIDR} -j DROP" in rules
