"""The chart lints, renders for every values file, and renders what the design asks for."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.services.common import versions
from tests.charts.checks import (
    CHART_DIR,
    by_kind,
    container_env,
    one,
    pod_specs,
    undocumented_values_keys,
)
from tests.charts.conftest import NAMESPACE, SHIPPED, VARIANTS

SECRETS = "/var/run/secrets/tweet-sentiment"


@pytest.mark.parametrize("variant", SHIPPED)
def test_helm_lint_strict(helm: Path, kube_version: str, variant: str) -> None:
    cmd = [str(helm), "lint", "--strict", "--kube-version", kube_version, str(CHART_DIR)]
    for path in VARIANTS[variant]:
        cmd += ["-f", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == "0.1.0"
    assert chart["kubeVersion"] == ">=1.30.0-0"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_object_has_standard_labels_and_the_release_namespace(rendered, variant: str) -> None:
    for doc in rendered[variant]:
        meta = doc["metadata"]
        labels = meta.get("labels", {})
        for key in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/version",
            "app.kubernetes.io/component",
            "helm.sh/chart",
        ):
            assert key in labels, f"{doc['kind']}/{meta['name']} lacks label {key}"
        assert meta.get("namespace") == NAMESPACE, (
            f"{doc['kind']}/{meta['name']} namespace {meta.get('namespace')}"
        )


def test_no_namespace_is_hard_coded(helm_template) -> None:
    proc = helm_template(namespace="somewhere-else")
    assert proc.returncode == 0, proc.stderr
    assert {d["metadata"]["namespace"] for d in load(proc.stdout)} == {"somewhere-else"}
    for path in (CHART_DIR / "templates").glob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.strip().startswith("namespace:"):
                assert ".Release.Namespace" in line, f"{path.name}: {line.strip()}"


def test_values_yaml_documents_every_key() -> None:
    assert undocumented_values_keys((CHART_DIR / "values.yaml").read_text()) == []


def test_undocumented_key_is_caught() -> None:
    text = "a:\n  # -- documented\n  b: 1\n  c: 2\n"
    assert undocumented_values_keys(text) == ["a.c"]


def _schema_objects(node: object, path: str = "$"):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _schema_objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schema_objects(value, f"{path}[{i}]")


def test_values_schema_is_closed_everywhere() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    open_objects = [p for p, node in _schema_objects(schema) if node.get("additionalProperties") is not False]
    assert open_objects == []
    props = schema["properties"]
    assert props["producer"]["properties"]["source"]["enum"] == [
        "x-sample",
        "x-filtered",
        "x-compliance",
        "bluesky",
        "replay",
        "synthetic",
    ]
    from sentiment_job.sentiment import MODELS

    assert props["job"]["properties"]["sentimentModel"]["enum"] == list(MODELS)


# ---- producer ---------------------------------------------------------------------------------


def test_producer_deployment(rendered) -> None:
    docs = rendered["default"]
    dep = one(docs, "Deployment", "-producer")
    spec = dep["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = container_env(spec)
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsUser"] == 10001
    shutdown = int(env["SHUTDOWN_TIMEOUT_SECONDS"]["value"])
    assert spec["terminationGracePeriodSeconds"] >= shutdown + 5
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"name": "metrics", "containerPort": 9108, "protocol": "TCP"} in container["ports"]
    assert container["resources"]["limits"]["memory"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts["/var/lib/tweet-producer"] == "state"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["state"]
    # Kafka SCRAM password from the Strimzi KafkaUser Secret, CA from the cluster CA Secret.
    assert volumes["kafka-user"]["secret"]["secretName"] == "tweet-producer"
    assert volumes["kafka-ca"]["secret"]["secretName"] == "tweets-cluster-ca-cert"
    assert env["KAFKA_SASL_PASSWORD_FILE"]["value"] == f"{SECRETS}/kafka-user/password"
    assert env["KAFKA_SSL_CAFILE"]["value"] == f"{SECRETS}/kafka-ca/ca.crt"
    assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "tweets-kafka-bootstrap:9093"
    assert env["KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    assert mounts[f"{SECRETS}/kafka-user"] == "kafka-user"
    svc = one(docs, "Service", "-producer")
    assert svc["spec"]["ports"] == [
        {"name": "metrics", "port": 9108, "targetPort": "metrics", "protocol": "TCP"}
    ]
    sm = one(docs, "ServiceMonitor", "-producer")
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"


def test_job_metrics_service_selects_the_driver_port(rendered) -> None:
    docs = rendered["default"]
    svc = one(docs, "Service", "-job-metrics")
    app = one(docs, "SparkApplication")
    assert svc["spec"]["selector"]["spark-role"] == "driver"
    # Spark puts the driver's labels (spec.driver.labels) on the pod: the selector must match them.
    driver_labels = app["spec"]["driver"]["labels"]
    assert {
        k: v for k, v in svc["spec"]["selector"].items() if k != "spark-role"
    }.items() <= driver_labels.items()
    port = app["spec"]["driver"]["ports"][0]
    assert svc["spec"]["ports"] == [
        {"name": "metrics", "port": port["containerPort"], "targetPort": port["name"], "protocol": "TCP"}
    ]


def test_x_token_is_a_mounted_secret_file_never_a_value(rendered) -> None:
    spec = one(rendered["x-filtered"], "Deployment", "-producer")["spec"]["template"]["spec"]
    env = container_env(spec)
    assert "X_BEARER_TOKEN" not in env
    assert env["X_BEARER_TOKEN_FILE"]["value"] == f"{SECRETS}/x/token"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["x-token"]["secret"] == {
        "secretName": "x-api",
        "items": [{"key": "token", "path": "token"}],
    }
    assert json.loads(env["X_RULES"]["value"]) == [{"value": "cats lang:en", "tag": "cats"}]
    assert "persistentVolumeClaim" in volumes["state"]
    one(rendered["x-filtered"], "PersistentVolumeClaim", "-producer-state")
    for variant, docs in rendered.items():
        for label, pod in pod_specs_of(docs):
            for name, _var in container_env(pod).items():
                if any(word in name for word in ("PASSWORD", "TOKEN", "API_KEY")) and not name.endswith(
                    "_FILE"
                ):
                    pytest.fail(f"{variant} {label}: secret {name} passed as an env value")


def pod_specs_of(docs):
    for doc in docs:
        yield from pod_specs(doc)


def test_x_source_without_token_secret_is_refused(helm_template) -> None:
    proc = helm_template(sets=["producer.source=x-sample"])
    assert proc.returncode != 0
    assert "producer.x.existingSecret is required" in proc.stderr


def test_plaintext_variant_drops_tls_and_sasl(rendered) -> None:
    spec = one(rendered["plaintext-s3a"], "Deployment", "-producer")["spec"]["template"]["spec"]
    env = container_env(spec)
    assert env["KAFKA_BOOTSTRAP_SERVERS"]["value"] == "tweets-kafka-bootstrap:9092"
    assert not {"KAFKA_SASL_USERNAME", "KAFKA_SSL_CAFILE", "KAFKA_SASL_PASSWORD_FILE"} & env.keys()
    assert env["SOURCE"]["value"] == "synthetic"
    app = one(rendered["plaintext-s3a"], "SparkApplication")
    driver_env = {e["name"]: e for e in app["spec"]["driver"]["env"]}
    assert "ES_CA_CERTS" not in driver_env
    assert driver_env["CHECKPOINT_LOCATION"]["value"] == "s3a://bucket/tweet-sentiment/checkpoints"
    assert not by_kind(rendered["plaintext-s3a"], "PersistentVolumeClaim")
    assert not by_kind(rendered["plaintext-s3a"], "PodMonitor")


# ---- Spark job --------------------------------------------------------------------------------


def test_spark_application(rendered) -> None:
    docs = rendered["default"]
    app = one(docs, "SparkApplication", "-job")
    spec = app["spec"]
    assert spec["type"] == "Python"
    assert spec["pythonVersion"] == "3"
    assert spec["mode"] == "cluster"
    assert spec["sparkVersion"] == versions()["SPARK_VERSION"]
    assert spec["mainApplicationFile"] == "local:///opt/tweet-sentiment/main.py"
    policy = spec["restartPolicy"]
    assert policy["type"] == "OnFailure"
    assert policy["onFailureRetries"] >= 100
    assert policy["onSubmissionFailureRetries"] >= 10
    assert policy["onFailureRetryInterval"] >= 10
    volumes = {v["name"]: v for v in spec["volumes"]}
    claim = volumes["checkpoints"]["persistentVolumeClaim"]["claimName"]
    one(docs, "PersistentVolumeClaim", claim.removeprefix("tweet-sentiment"))
    assert any(name.startswith("spark-local-dir-") for name in volumes)
    for role in ("driver", "executor"):
        part = spec[role]
        mounts = {m["name"]: m["mountPath"] for m in part["volumeMounts"]}
        assert mounts["checkpoints"] == "/checkpoints", role
        assert mounts["spark-local-dir-tmp"] == "/tmp", role
        env = {e["name"]: e for e in part["env"]}
        assert env["CHECKPOINT_LOCATION"]["value"].startswith("/checkpoints/"), role
        assert env["ES_CA_CERTS"]["value"] == f"{SECRETS}/es-ca/ca.crt"
        assert env["ES_PASSWORD_FILE"]["value"] == f"{SECRETS}/es-user/password"
        assert part["securityContext"]["runAsUser"] == 185
        assert part["securityContext"]["readOnlyRootFilesystem"] is True
        assert part["labels"]["app.kubernetes.io/component"] == "job"
    assert volumes["es-ca"]["secret"]["secretName"] == "tweets-es-http-certs-public"
    assert volumes["es-user"]["secret"]["secretName"] == "tweets-es-job-user"
    assert volumes["kafka-user"]["secret"]["secretName"] == "tweet-sentiment-job"
    assert {"name": "metrics", "containerPort": 9109, "protocol": "TCP"} in spec["driver"]["ports"]
    pm = one(docs, "PodMonitor", "-job")
    assert pm["spec"]["selector"]["matchLabels"]["spark-role"] == "driver"
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


def test_elastic_superuser_fallback(helm_template) -> None:
    proc = helm_template(
        sets=[
            "elasticsearch.jobUser.existingSecret=",
            "elasticsearch.jobUser.username=elastic",
            "elasticsearch.jobUser.passwordKey=elastic",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    volumes = {v["name"]: v for v in one(load(proc.stdout), "SparkApplication")["spec"]["volumes"]}
    assert volumes["es-user"]["secret"]["secretName"] == "tweets-es-elastic-user"


def load(text: str):
    from tests.charts.checks import load_docs

    return load_docs(text)


def test_driver_rbac(rendered) -> None:
    docs = rendered["default"]
    app = one(docs, "SparkApplication")
    account = app["spec"]["driver"]["serviceAccount"]
    sa = one(docs, "ServiceAccount", "-spark")
    assert sa["metadata"]["name"] == account
    role = one(docs, "Role", "-spark")
    (rule,) = role["rules"]
    assert set(rule["resources"]) == {"pods", "services", "configmaps", "persistentvolumeclaims"}
    assert {"create", "delete", "get", "list", "watch"} <= set(rule["verbs"])
    binding = one(docs, "RoleBinding", "-spark")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


# ---- hooks --------------------------------------------------------------------------------------


def test_index_template_hook(rendered) -> None:
    job = one(rendered["default"], "Job", "-setup-es")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["tweet-sentiment-setup-es"]
    assert container["image"] == one(rendered["default"], "SparkApplication")["spec"]["image"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ES_URL"]["value"] == "https://tweets-es-http:9200"


def test_kibana_import_hook(rendered) -> None:
    docs = rendered["default"]
    job = one(docs, "Job", "-kibana-import")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    repo, tag = container["image"].split(":")
    assert repo == "curlimages/curl"
    assert tag[0].isdigit()
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["kibana-ca"]["secret"]["secretName"] == "tweets-kb-http-certs-public"
    assert volumes["kibana-user"]["secret"]["secretName"] == "tweets-es-elastic-user"
    cm = one(docs, "ConfigMap", "-kibana-import")
    shipped = (CHART_DIR / "files" / "kibana-saved-objects.ndjson").read_text().strip()
    assert cm["data"]["kibana-saved-objects.ndjson"] == shipped
    script = cm["data"]["import.sh"]
    assert "/api/saved_objects/_import?overwrite=true" in script
    assert "kbn-xsrf: true" in script
    assert "-K -" in script  # credentials on stdin, not argv
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["KIBANA_URL"] == "https://tweets-kb-http:5601"


# ---- monitoring as code ------------------------------------------------------------------------


def test_prometheus_rule_wraps_the_rule_file(rendered) -> None:
    rule = one(rendered["default"], "PrometheusRule")
    source = yaml.safe_load((CHART_DIR / "files" / "prometheus-rules.yaml").read_text())
    assert rule["spec"]["groups"] == source["groups"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_grafana_dashboard_configmap(rendered) -> None:
    cm = one(rendered["default"], "ConfigMap", "-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((CHART_DIR / "files" / "grafana-dashboard.json").read_text())
    assert json.loads(cm["data"]["tweet-sentiment.json"]) == shipped


def test_monitoring_labels_are_configurable(helm_template) -> None:
    proc = helm_template(
        sets=["monitoring.labels.release=prom", "monitoring.grafanaDashboard.labels.team=data"]
    )
    assert proc.returncode == 0, proc.stderr
    docs = load(proc.stdout)
    for kind in ("PrometheusRule", "ServiceMonitor", "PodMonitor"):
        for doc in by_kind(docs, kind):
            assert doc["metadata"]["labels"]["release"] == "prom", kind
    assert one(docs, "ConfigMap", "-dashboard")["metadata"]["labels"]["team"] == "data"


# ---- network policies ----------------------------------------------------------------------------


def _ports(rule) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


def test_network_policies(rendered) -> None:
    docs = rendered["default"]
    policies = {
        d["metadata"]["name"].removeprefix("tweet-sentiment-"): d["spec"]
        for d in by_kind(docs, "NetworkPolicy")
    }
    deny = policies["default-deny"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    assert deny["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "tweet-sentiment"
    # Every pod template of the release is selected by the default deny.
    for doc in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert deny["podSelector"]["matchLabels"].items() <= labels.items(), doc["metadata"]["name"]
    producer = policies["producer"]
    egress_ports = [_ports(rule) for rule in producer["egress"]]
    assert {9092, 9093} in egress_ports
    assert {53} in egress_ports
    assert {443} in egress_ports
    assert _ports(producer["ingress"][0]) == {9108}
    assert producer["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    job = policies["job"]
    job_ports = [_ports(rule) for rule in job["egress"]]
    assert set() in job_ports
    assert {9200} in job_ports
    assert {9092, 9093} in job_ports
    assert any(_ports(rule) == {9109} for rule in job["ingress"])
    assert policies["driver-kube-api"]["podSelector"]["matchLabels"]["spark-role"] == "driver"
    assert {9200} in [_ports(rule) for rule in policies["setup-es"]["egress"]]
    assert {5601} in [_ports(rule) for rule in policies["kibana-import"]["egress"]]


# ---- NOTES.txt ----------------------------------------------------------------------------------


def test_notes_print_port_forwards_and_kibana_password(helm_template, tmp_path: Path) -> None:
    # `helm template` does not render NOTES.txt and `helm install --dry-run` wants a cluster:
    # render it as a ConfigMap in a copy of the chart.
    chart = tmp_path / "chart"
    shutil.copytree(CHART_DIR, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "NOTES.txt").unlink()
    (chart / "templates" / "_notes.tpl").write_text('{{- define "notes" -}}\n' + notes + "\n{{- end -}}\n")
    (chart / "templates" / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n"
        '    {{- include "notes" . | nindent 4 }}\n'
    )
    proc = helm_template(chart=chart, sets=["networkPolicy.enabled=false"])
    assert proc.returncode == 0, proc.stderr
    text = next(d for d in load(proc.stdout) if d["metadata"]["name"] == "notes")["data"]["notes"]
    assert "kubectl -n tweet-sentiment port-forward svc/tweets-kb-http 5601" in text
    assert "get secret tweets-es-elastic-user -o go-template='{{.data.elastic | base64decode}}'" in text
    assert "port-forward svc/kube-prometheus-stack-grafana 3000:80" in text
