"""The whole product on a real Kubernetes cluster, secured as in production.

Kafka (SASL_SSL, SCRAM-SHA-512, ACLs) and Elasticsearch (HTTPS, file-realm users and roles)
run on the host for the test, behind Secrets and Services named and shaped as Strimzi 1.2
and ECK 3.5 create them (devtools.services.secured). Both images are built from the
Dockerfiles users build (devtools.images) and imported into the node. The chart is
installed with `helm install --wait` (hooks included), then the SparkApplication it created
is submitted as spark-operator would submit it (devtools.cluster.spark_submit): Spark
cluster mode, the driver creating its executor pods under the chart's ServiceAccount.

The tests share one release and run in file order: install, what users see, a driver
restart, uninstall.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.cluster import cluster, kube, network
from devtools.cluster import images as cluster_images
from devtools.cluster.spark_submit import Operator, Supervisor
from devtools.harness.poll import wait_until
from devtools.harness.process import VENV_BIN
from devtools.images import chart_image_values, ensure_images, image_refs
from devtools.services import tools
from devtools.services.common import ServiceError, versions
from devtools.services.secured import manifests
from devtools.services.secured.material import SecuredConfig
from devtools.services.secured.services import SecuredServices
from tests.charts.checks import CHART_DIR
from tests.conftest import KEEP
from tests.e2e.data import sample_ids
from tests.k8s.conftest import Kubectl
from tests.spark_job.spark_job_helpers import event
from tweet_sentiment_common.contract import document_id

pytestmark = [pytest.mark.k8s, pytest.mark.slow]

NAMESPACE = "tweet-sentiment-k8s"
RELEASE = "tweet-sentiment"
VALUES = Path(__file__).resolve().parent / "values-cluster.yaml"
CHART_VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
INDEX = CHART_VALUES["elasticsearch"]["index"]
TOPIC = CHART_VALUES["kafka"]["topic"]
APP = f"{RELEASE}-job"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def backends(k8s_cluster: None) -> Iterator[SecuredServices]:
    """Kafka and Elasticsearch on the bridge address pods reach, with certificates for this
    namespace, started empty: the test counts every document and every commit."""
    services = SecuredServices(SecuredConfig(namespace=NAMESPACE, bind=network.GATEWAY_IP))
    try:
        services.reset()
        services.up()
    except ServiceError as exc:
        pytest.fail(f"cannot start the secured Kafka/Elasticsearch: {exc}", pytrace=False)
    yield services
    if not KEEP:
        services.down()


@pytest.fixture(scope="module")
def product_images(k8s_cluster: None) -> dict[str, str]:
    """Both images, built from their Dockerfiles (devtools/images) and imported into the node."""
    try:
        tarballs = ensure_images()
        for component, ref in image_refs().items():
            cluster_images.ensure_loaded(tarballs[component], f"docker.io/{ref}")
    except ServiceError as exc:
        pytest.fail(f"cannot build or load the product images: {exc}", pytrace=False)
    return chart_image_values()


@pytest.fixture(scope="module")
def namespace(kubectl: Kubectl, crds_installed: None, backends: SecuredServices) -> Iterator[str]:
    """The release's namespace, enforcing `restricted`, with the operators' Secrets and Services."""
    kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=true", timeout=300)
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": NAMESPACE,
            "labels": {f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "warn")},
        },
    }
    kubectl("apply", "-f", "-", stdin=json.dumps(ns))
    kubectl("-n", NAMESPACE, "apply", "-f", "-", stdin=manifests.dump(manifests.objects(backends.config)))
    yield NAMESPACE
    if not KEEP:
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


@pytest.fixture(scope="module")
def helm() -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = str(tools.helm_bin())
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig())}

    def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
        )

    return run


SUBMITTER_RULES = [
    # What spark-submit needs in cluster mode: the driver pod, its Service and ConfigMap.
    {
        "apiGroups": [""],
        "resources": ["pods", "services", "configmaps"],
        "verbs": ["create", "get", "list", "watch", "update", "patch", "delete"],
    },
]


@pytest.fixture(scope="module")
def submitter_kubeconfig(namespace: str, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig for spark-submit with a ServiceAccount token, as the operator submits with its
    own ServiceAccount (and Spark's Kubernetes client reads tokens, not our EC client keys)."""
    name = "spark-operator-stand-in"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": name}}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
    }
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [account, {**role, "rules": SUBMITTER_RULES}, binding],
    }
    kubectl("-n", namespace, "apply", "-f", "-", stdin=json.dumps(doc))
    token = kubectl("-n", namespace, "create", "token", name, "--duration=2h").stdout.strip()
    admin = json.loads(cluster.kubeconfig().read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "local", "user": name, "namespace": namespace}}],
        "current-context": name,
    }
    path = tmp_path_factory.mktemp("submitter") / "kubeconfig"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def operator(
    namespace: str, kubectl: Kubectl, submitter_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Operator]:
    """spark-operator's part: submit the SparkApplication as soon as the install creates it."""
    import pyspark

    java_home = versions()["JAVA_HOME_SPARK"]
    # The pyspark wheel is a Spark distribution: its spark-submit speaks Kubernetes.
    spark_home = Path(pyspark.__file__).parent

    def run_kubectl(args: Sequence[str]) -> str:
        return kube.kubectl(*args)

    def supervisor(app: Any) -> Supervisor:
        return Supervisor(
            app=app,
            master=f"k8s://{network.APISERVER_URL}",
            work_dir=tmp_path_factory.mktemp("spark-submit"),
            spark_submit=[str(spark_home / "bin" / "spark-submit")],
            kubectl=run_kubectl,
            env={
                "KUBECONFIG": str(submitter_kubeconfig),
                "JAVA_HOME": java_home,
                "SPARK_HOME": str(spark_home),
                "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            },
        )

    op = Operator(namespace=namespace, name=APP, kubectl=run_kubectl, make=supervisor)
    op.start()
    yield op
    if op.supervisor is not None:
        with contextlib.suppress(Exception):
            print("\n".join(op.supervisor.log or []))
            print(kubectl("-n", namespace, "logs", op.supervisor.driver_pod, "--tail=80", check=False).stdout)
    op.stop()


@pytest.fixture(scope="module")
def release(
    namespace: str,
    product_images: dict[str, str],
    operator: Operator,
    helm: Callable[..., subprocess.CompletedProcess[str]],
) -> Iterator[subprocess.CompletedProcess[str]]:
    """`helm install --wait`: the producer Ready, the claim bound, the post-install hooks succeeded."""
    cmd = [
        "install",
        RELEASE,
        str(CHART_DIR),
        "-n",
        namespace,
        "-f",
        str(VALUES),
        "--wait",
        "--timeout",
        "10m",
    ]
    for key, value in product_images.items():
        cmd += ["--set", f"{key}={value}"]
    proc = helm(*cmd)
    assert proc.returncode == 0, f"helm install failed:\n{proc.stderr}\n{proc.stdout}\n{operator.error or ''}"
    yield proc
    helm("uninstall", RELEASE, "-n", namespace, "--wait")


@pytest.fixture(scope="module")
def spark_job(release: subprocess.CompletedProcess[str], operator: Operator) -> Supervisor:
    assert operator.supervisor is not None, f"the SparkApplication was never submitted: {operator.error}"
    return operator.supervisor


@pytest.fixture(scope="module")
def es(backends: SecuredServices) -> Iterator[Any]:
    """Elasticsearch as its `elastic` superuser, over HTTPS checked against the ECK-shaped CA."""
    from elasticsearch import Elasticsearch

    material = backends.material
    client = Elasticsearch(
        f"https://{network.GATEWAY_IP}:{backends.config.es_port}",
        basic_auth=("elastic", material.es_password("elastic")),
        ssl_context=material.es_ssl_context(),
        request_timeout=30,
    )
    yield client
    client.close()


def publish(backends: SecuredServices, posts: dict[str, str]) -> None:
    """Post id -> text, published as the producer's KafkaUser would (SCRAM over TLS)."""
    from kafka import KafkaProducer

    material = backends.material
    producer = KafkaProducer(
        bootstrap_servers=f"{network.GATEWAY_IP}:{backends.config.kafka_port}",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="tweet-producer",
        sasl_plain_password=material.kafka_password("tweet-producer"),
        ssl_context=material.kafka_ssl_context(),
        acks="all",
    )
    try:
        for post_id, text in posts.items():
            value = event(post_id, text)
            producer.send(
                TOPIC, key=document_id(value["source"], post_id).encode(), value=json.dumps(value).encode()
            )
        producer.flush(timeout=60)
    finally:
        producer.close()


def versions_of(es: Any, ids: set[str]) -> dict[str, int]:
    """`_id` -> `_version` of those documents that exist."""
    if not es.indices.exists(index=INDEX):
        return {}
    es.indices.refresh(index=INDEX)
    found = es.mget(index=INDEX, ids=sorted(ids), source=False)["docs"]
    return {d["_id"]: int(d["_version"]) for d in found if d.get("found")}


def indexed_ids(es: Any) -> set[str]:
    from elasticsearch.helpers import scan

    if not es.indices.exists(index=INDEX):
        return set()
    es.indices.refresh(index=INDEX)
    return {hit["_id"] for hit in scan(es, index=INDEX, query={"query": {"match_all": {}}}, _source=False)}


def pods(kubectl: Kubectl, selector: str) -> list[dict[str, Any]]:
    out = kubectl("-n", NAMESPACE, "get", "pods", "-l", selector, "-o", "json").stdout
    return list(json.loads(out)["items"])


def running(kubectl: Kubectl, selector: str) -> list[dict[str, Any]]:
    return [
        p
        for p in pods(kubectl, selector)
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    ]


# ----------------------------------------------------------------------------- tests, in order


def test_es_setup_hook_installed_the_templates_as_the_job_user(
    release: subprocess.CompletedProcess[str], es: Any, kubectl: Kubectl
) -> None:
    # `helm install --wait` returned 0: the post-install hook Job succeeded (and was deleted,
    # hook-succeeded). It mounts only the job user's Secret: no superuser was available to it.
    assert es.indices.get_index_template(name=f"{INDEX}*")["index_templates"], "no index template"
    jobs = json.loads(kubectl("-n", NAMESPACE, "get", "jobs", "-o", "json").stdout)["items"]
    assert not [j for j in jobs if "setup-es" in j["metadata"]["name"]], "the hook Job was not cleaned up"


def test_producer_is_ready_and_publishes_the_sample(
    release: subprocess.CompletedProcess[str], kubectl: Kubectl
) -> None:
    deploy = json.loads(
        kubectl("-n", NAMESPACE, "get", "deployment", f"{RELEASE}-producer", "-o", "json").stdout
    )
    assert deploy["status"].get("readyReplicas") == 1
    published = wait_until(
        lambda: metric_value(kubectl, f"{RELEASE}-producer", "producer_posts_published_total"),
        180,
        "the producer's posts acknowledged by Kafka",
        interval=2,
    )
    assert published >= 1


def test_job_runs_in_cluster_mode_with_an_executor_pod(spark_job: Supervisor, kubectl: Kubectl) -> None:
    app_label = f"sparkoperator.k8s.io/app-name={APP}"
    driver = wait_until(
        lambda: running(kubectl, f"{app_label},spark-role=driver"), 300, "a running driver pod", interval=2
    )[0]
    executors = wait_until(
        lambda: running(kubectl, f"{app_label},spark-role=executor"),
        300,
        "a running executor pod",
        interval=2,
    )
    sa = f"{RELEASE}-spark"
    for pod in [driver, *executors]:
        spec = pod["spec"]
        assert spec["serviceAccountName"] == sa
        assert spec["securityContext"]["runAsUser"] == 185
        assert spec["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    # The driver created the executors (it owns them), through the API with the chart's Role.
    owners = {o["name"] for e in executors for o in e["metadata"].get("ownerReferences", [])}
    assert owners == {driver["metadata"]["name"]}
    claim = {
        v["persistentVolumeClaim"]["claimName"]
        for v in driver["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claim == {f"{RELEASE}-checkpoints"}


def test_every_sample_post_is_indexed_once(spark_job: Supervisor, es: Any) -> None:
    expected = sample_ids()
    wait_until(
        lambda: expected <= indexed_ids(es), 600, f"all {len(expected)} sample posts in {INDEX}", interval=5
    )
    ids = indexed_ids(es)
    assert ids == expected, f"unexpected documents: {sorted(ids - expected)[:5]}"
    assert int(es.count(index=INDEX)["count"]) == len(expected)


def metric_value(kubectl: Kubectl, service: str, name: str) -> float | None:
    """`name`'s value (summed over labels) scraped through the Service, via the API server's proxy."""
    families = scrape(kubectl, service)
    samples = families.get(name)
    return None if samples is None else sum(samples)


def scrape(kubectl: Kubectl, service: str) -> dict[str, list[float]]:
    proc = kubectl(
        "get",
        "--raw",
        f"/api/v1/namespaces/{NAMESPACE}/services/http:{service}:metrics/proxy/metrics",
        check=False,
    )
    if proc.returncode != 0:
        return {}
    out: dict[str, list[float]] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})? (\S+)", line)
        if m:
            out.setdefault(m.group(1), []).append(float(m.group(2)))
    return out


def documented(names_from: Callable[[Any], None]) -> set[str]:
    """Metric names as the README documents them: what our registry declares."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    names_from(registry)
    return {s.name for family in registry.collect() for s in family.samples}


def test_metrics_answer_through_the_services(spark_job: Supervisor, kubectl: Kubectl, es: Any) -> None:
    from sentiment_job.metrics import JobMetrics
    from tweet_producer.metrics import Metrics

    producer = documented(lambda r: Metrics("replay", registry=r))
    job = documented(lambda r: JobMetrics(registry=r))
    scraped_producer = wait_until(
        lambda: scrape(kubectl, f"{RELEASE}-producer"), 120, "producer /metrics via its Service", interval=2
    )
    # The job's families appear once the driver is up; its counters after the first batch.
    scraped_job = wait_until(
        lambda: (
            (s := scrape(kubectl, f"{RELEASE}-job-metrics"))
            and s.get("sentiment_job_documents_indexed_total")
            and s
        ),
        300,
        "job /metrics via its Service",
        interval=2,
    )
    assert producer - scraped_producer.keys() == set()
    assert job - scraped_job.keys() == set()
    assert sum(scraped_producer["producer_posts_published_total"]) >= len(sample_ids())


def checkpoint_commits(kubectl: Kubectl) -> list[int]:
    """Batch ids committed in the job's checkpoint, read from the claim's volume on the node."""
    pvc = json.loads(kubectl("-n", NAMESPACE, "get", "pvc", f"{RELEASE}-checkpoints", "-o", "json").stdout)
    pv = json.loads(kubectl("get", "pv", pvc["spec"]["volumeName"], "-o", "json").stdout)
    source = pv["spec"].get("hostPath") or pv["spec"].get("local")
    commits = Path(source["path"]) / f"{RELEASE}" / "commits"
    return sorted(int(p.name) for p in commits.glob("[0-9]*")) if commits.is_dir() else []


def test_driver_restart_resumes_from_the_checkpoint_on_the_claim(
    spark_job: Supervisor, kubectl: Kubectl, es: Any, backends: SecuredServices
) -> None:
    run = str(int(time.time()))
    before = {f"k8s-{run}-before-{i}": f"I love this, before the restart #{i}" for i in range(20)}
    after = {f"k8s-{run}-after-{i}": f"I hate this, after the restart #{i}" for i in range(20)}
    ids_of = {pid: document_id("synthetic", pid) for pid in [*before, *after]}
    publish(backends, before)
    wait_until(
        lambda: len(versions_of(es, {ids_of[p] for p in before})) == len(before),
        300,
        "the posts before the restart",
        interval=2,
    )
    committed = wait_until(
        lambda: checkpoint_commits(kubectl), 60, "commits in the checkpoint on the claim", interval=2
    )
    old_uid = running(kubectl, f"sparkoperator.k8s.io/app-name={APP},spark-role=driver")[0]["metadata"]["uid"]

    kubectl("-n", NAMESPACE, "delete", "pod", spark_job.driver_pod, "--wait=true", timeout=180)
    new_driver = wait_until(
        lambda: [
            p
            for p in running(kubectl, f"sparkoperator.k8s.io/app-name={APP},spark-role=driver")
            if p["metadata"]["uid"] != old_uid
        ],
        300,
        "a new driver pod submitted after the old one was deleted",
        interval=2,
    )[0]
    publish(backends, after)
    wait_until(
        lambda: len(versions_of(es, {ids_of[p] for p in after})) == len(after),
        300,
        "the posts after the restart",
        interval=2,
    )

    # Resumed, not restarted: the new driver's batches continue the commit log on the claim
    # (a fresh checkpoint starts at batch 0), and nothing from before the restart was read
    # again (a job that lost its checkpoint re-reads from `earliest`: _version 2).
    log = kubectl("-n", NAMESPACE, "logs", new_driver["metadata"]["name"]).stdout
    new_batches = [int(b) for b in re.findall(r"sentiment_job: batch (\d+):", log)]
    assert new_batches, log[-3000:]
    assert min(new_batches) > max(committed), (min(new_batches), max(committed))
    assert max(checkpoint_commits(kubectl)) >= max(new_batches)
    versions = versions_of(es, set(ids_of.values()))
    assert versions == dict.fromkeys(ids_of.values(), 1), {k: v for k, v in versions.items() if v != 1}
    assert indexed_ids(es) == sample_ids() | set(ids_of.values())


def test_uninstall_keeps_the_checkpoint_claim(
    spark_job: Supervisor, helm: Callable[..., subprocess.CompletedProcess[str]], kubectl: Kubectl
) -> None:
    spark_job.stop()
    proc = helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait")
    assert proc.returncode == 0, proc.stderr
    pvc = json.loads(kubectl("-n", NAMESPACE, "get", "pvc", f"{RELEASE}-checkpoints", "-o", "json").stdout)
    assert pvc["status"]["phase"] == "Bound"
    wait_until(
        lambda: not pods(kubectl, f"app.kubernetes.io/instance={RELEASE}"),
        120,
        "the release's pods gone",
        interval=2,
    )
