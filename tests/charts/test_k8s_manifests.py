"""The plain Strimzi and ECK manifests: layout conventions, the pinned versions, the
security settings the design asks for, and agreement with the chart's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from devtools.services.common import versions
from tests.charts.checks import CHART_DIR, K8S_DIR, by_kind, load_docs, one

VARIANT_DIRS = [K8S_DIR / op / variant for op in ("strimzi", "eck") for variant in ("base", "dev", "prod")]


def objects(*dirs: Path) -> list[dict]:
    return [
        d
        for folder in dirs
        for p in sorted(folder.glob("*.yaml"))
        if p.name != "kustomization.yaml"
        for d in load_docs(p.read_text())
    ]


def variant(op: str, name: str) -> list[dict]:
    return objects(K8S_DIR / op / "base", K8S_DIR / op / name)


@pytest.mark.parametrize("folder", VARIANT_DIRS, ids=lambda p: str(p.relative_to(K8S_DIR)))
def test_layout_kustomization_and_file_names(folder: Path) -> None:
    kust = yaml.safe_load((folder / "kustomization.yaml").read_text())
    assert kust["kind"] == "Kustomization"
    files = sorted(p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml")
    listed = [r for r in kust["resources"] if not r.startswith("../")]
    assert sorted(listed) == files, "kustomization.yaml must list exactly the files of its folder"
    if folder.name != "base":
        assert "../base" in kust["resources"]
    for name in files:
        assert name.endswith(f"-{folder.name}.yaml"), f"{name}: files are named <component>-<variant>.yaml"
        for doc in load_docs((folder / name).read_text()):
            assert "namespace" not in doc["metadata"], f"{name}: namespaces come from `kubectl -n`"


@pytest.mark.parametrize("op", ["strimzi", "eck"])
def test_readme_indexes_every_file(op: str) -> None:
    readme = (K8S_DIR / op / "README.md").read_text()
    for path in sorted((K8S_DIR / op).rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            assert str(path.relative_to(K8S_DIR / op)) in readme, (
                f"{op}/README.md does not mention {path.name}"
            )


# ---- Strimzi ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_strimzi_cluster(name: str) -> None:
    docs = variant("strimzi", name)
    assert {d["apiVersion"] for d in docs if d["apiVersion"].startswith("kafka.strimzi.io")} == {
        "kafka.strimzi.io/v1"
    }
    kafka = one(docs, "Kafka")["spec"]["kafka"]
    assert kafka["version"] == versions()["KAFKA_VERSION"]
    assert kafka["metadataVersion"] == "4.3-IV0"
    assert kafka["authorization"]["type"] == "simple"
    listeners = {item["name"]: item for item in kafka["listeners"]}
    assert listeners["tls"]["port"] == 9093
    assert listeners["tls"]["tls"] is True
    assert listeners["tls"]["authentication"]["type"] == "scram-sha-512"
    if name == "dev":
        assert listeners["plain"]["port"] == 9092
        assert listeners["plain"]["tls"] is False
    else:
        assert set(listeners) == {"tls"}, "prod exposes only the TLS listener"
        assert kafka["rack"]["topologyKey"] == "topology.kubernetes.io/zone"
        assert kafka["config"]["min.insync.replicas"] == 2
    assert kafka["metricsConfig"]["type"] in {"strimziMetricsReporter", "jmxPrometheusExporter"}
    assert "kafkaExporter" in one(docs, "Kafka")["spec"]
    pools = by_kind(docs, "KafkaNodePool")
    roles = {
        role: sum(p["spec"]["replicas"] for p in pools if role in p["spec"]["roles"])
        for role in ("controller", "broker")
    }
    if name == "dev":
        assert roles == {"controller": 1, "broker": 1}
        assert len(pools) == 1
    else:
        assert roles == {"controller": 3, "broker": 3}
        for pool in pools:
            assert all(
                v["type"] == "persistent-claim" and v["deleteClaim"] is False
                for v in pool["spec"]["storage"]["volumes"]
            )
    topics = {
        t["spec"].get("topicName", t["metadata"]["name"]): t["spec"] for t in by_kind(docs, "KafkaTopic")
    }
    assert set(topics) == {"posts", "posts.deadletter"}
    assert all("retention.ms" in t["config"] for t in topics.values())
    pm = one(docs, "PodMonitor")
    assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "tcp-prometheus"


def _acls(user: dict) -> dict[tuple[str, str, str], set[str]]:
    return {
        (a["resource"]["type"], a["resource"]["name"], a["resource"].get("patternType", "literal")): set(
            a["operations"]
        )
        for a in user["spec"]["authorization"]["acls"]
    }


def test_strimzi_users_are_least_privilege() -> None:
    docs = objects(K8S_DIR / "strimzi" / "base")
    producer = _acls(one(docs, "KafkaUser", "tweet-producer"))
    assert producer == {
        ("topic", "posts", "literal"): {"Write", "Describe"},
        ("topic", "posts.deadletter", "literal"): {"Write", "Describe"},
    }
    job = _acls(one(docs, "KafkaUser", "tweet-sentiment-job"))
    assert job[("topic", "posts", "literal")] == {"Read", "Describe"}
    assert ("group", "spark-kafka-source-", "prefix") in job
    assert not any("Write" in ops or "All" in ops for ops in job.values())
    for user in by_kind(docs, "KafkaUser"):
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"


# ---- ECK -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "nodes"), [("dev", 1), ("prod", 3)])
def test_eck_cluster(name: str, nodes: int) -> None:
    docs = variant("eck", name)
    es = one(docs, "Elasticsearch")
    kb = one(docs, "Kibana")
    assert es["spec"]["version"] == kb["spec"]["version"] == versions()["ES_VERSION"]
    assert sum(ns["count"] for ns in es["spec"]["nodeSets"]) == nodes
    assert kb["spec"]["elasticsearchRef"]["name"] == es["metadata"]["name"]
    auth = es["spec"]["auth"]
    roles_secret = one(docs, "Secret", "-es-roles")
    assert auth["roles"] == [{"secretName": roles_secret["metadata"]["name"]}]
    assert auth["fileRealm"] == [{"secretName": "tweets-es-job-user"}]
    for ns in es["spec"]["nodeSets"]:
        container = ns["podTemplate"]["spec"]["containers"][0]
        assert container["resources"]["limits"]["memory"], "heap is sized from the memory limit"
        assert "-Xmx" in container["env"][0]["value"]


def test_eck_job_role_is_scoped_to_our_indices() -> None:
    secret = one(objects(K8S_DIR / "eck" / "base"), "Secret", "-es-roles")
    roles = yaml.safe_load(secret["stringData"]["roles.yml"])
    role = roles["tweet_sentiment_writer"]
    assert set(role["cluster"]) <= {"monitor", "manage_index_templates"}
    assert [i["names"] for i in role["indices"]] == [["tweets-sentiment*"]]
    assert "all" not in role["indices"][0]["privileges"]
    assert "run_as" not in role


# ---- the chart's defaults point at these manifests -----------------------------------------------


def test_chart_defaults_match_the_manifests() -> None:
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    strimzi = variant("strimzi", "dev")
    eck = variant("eck", "dev")
    assert values["kafka"]["clusterName"] == one(strimzi, "Kafka")["metadata"]["name"]
    assert (
        values["kafka"]["networkPolicy"]["podSelector"]["strimzi.io/cluster"]
        == values["kafka"]["clusterName"]
    )
    topics = {t["spec"].get("topicName", t["metadata"]["name"]) for t in by_kind(strimzi, "KafkaTopic")}
    assert {values["kafka"]["topic"], values["kafka"]["deadLetterTopic"]} == topics
    users = {u["metadata"]["name"] for u in by_kind(strimzi, "KafkaUser")}
    assert {values["producer"]["kafka"]["user"], values["job"]["kafka"]["user"]} == users
    assert values["elasticsearch"]["name"] == one(eck, "Elasticsearch")["metadata"]["name"]
    assert values["kibana"]["name"] == one(eck, "Kibana")["metadata"]["name"]
    assert values["elasticsearch"]["jobUser"]["existingSecret"] == "tweets-es-job-user"
    es_selector = values["elasticsearch"]["networkPolicy"]["podSelector"]
    assert es_selector == {"elasticsearch.k8s.elastic.co/cluster-name": values["elasticsearch"]["name"]}
    roles = yaml.safe_load(one(eck, "Secret", "-es-roles")["stringData"]["roles.yml"])
    makefile = (K8S_DIR.parent / "Makefile").read_text()
    for role in roles:
        assert f"roles={role}" in makefile, "make up creates the job user with the role of roles-base.yaml"
    assert f"username={values['elasticsearch']['jobUser']['username']}" in makefile
