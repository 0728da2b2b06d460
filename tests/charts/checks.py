"""Pure helpers of the offline chart checks: parse manifests, validate them, read settings.

No subprocesses here (those are in conftest.py): these take text or dicts and return
findings, so each check is easy to read and to test on a broken input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "tweet-sentiment"
K8S_DIR = REPO_ROOT / "k8s"

ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


# ---- manifests ---------------------------------------------------------------------------


def load_docs(text: str) -> list[dict[str, Any]]:
    """Every non-empty YAML document of a multi-document stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kind_name(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") == kind]


def one(docs: list[dict[str, Any]], kind: str, name_suffix: str = "") -> dict[str, Any]:
    """The single object of `kind` whose name ends with `name_suffix`; fails loudly otherwise."""
    found = [d for d in by_kind(docs, kind) if d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {kind} named *{name_suffix}, found {[kind_name(d) for d in found]}"
    return found[0]


def group_version(doc: dict[str, Any]) -> tuple[str, str]:
    group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
    return group, version


def crd_schema_path(doc: dict[str, Any], crd_dir: Path) -> Path:
    """Where the shared JSON Schema of a custom resource lives (kubeconform's layout)."""
    group, version = group_version(doc)
    return crd_dir / group / f"{str(doc.get('kind', '')).lower()}_{version}.json"


def is_custom_resource(doc: dict[str, Any], crd_dir: Path) -> bool:
    """Its API group is one of the operators' (a folder of the shared CRD schemas)."""
    group, _ = group_version(doc)
    return bool(group) and (crd_dir / group).is_dir()


@cache
def _crd_validator(path: Path) -> Any:
    import jsonschema

    return jsonschema.Draft4Validator(json.loads(path.read_text()))


def schema_errors(doc: dict[str, Any], crd_dir: Path, kube_version: str) -> list[str]:
    """Strict schema findings for one object; a kind without a schema is a finding too."""
    if is_custom_resource(doc, crd_dir):
        path = crd_schema_path(doc, crd_dir)
        if not path.exists():
            return [
                f"{kind_name(doc)}: no schema for {doc.get('apiVersion')} {doc.get('kind')} ({path.name})"
            ]
        errors = sorted(_crd_validator(path).iter_errors(doc), key=lambda e: list(e.absolute_path))
        return [f"{kind_name(doc)}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    try:
        kubernetes_validate.validate(doc, kube_version, strict=True)
    except SchemaNotFoundError:
        return [
            f"{kind_name(doc)}: no schema for {doc.get('apiVersion')} {doc.get('kind')} (Kubernetes {kube_version})"
        ]
    except ValidationError as exc:  # a jsonschema.ValidationError: first error only
        where = "/".join(map(str, exc.absolute_path))
        return [f"{kind_name(doc)}: {where}: {exc.message}"]
    return []


# ---- pods inside objects -------------------------------------------------------------------


def pod_specs(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, pod spec) of the workloads in `doc`; a SparkApplication yields driver and executor
    as pseudo pod specs built from the operator's fields."""
    kind = doc.get("kind")
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
        yield kind_name(doc), doc["spec"]["template"]["spec"]
    elif kind == "CronJob":
        yield kind_name(doc), doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    elif kind == "Pod":
        yield kind_name(doc), doc["spec"]
    elif kind == "SparkApplication":
        for role in ("driver", "executor"):
            part = doc["spec"][role]
            container = {
                "name": f"spark-{role}",
                "env": part.get("env", []),
                "securityContext": part.get("securityContext", {}),
                "volumeMounts": part.get("volumeMounts", []),
            }
            yield (
                f"{kind_name(doc)}[{role}]",
                {
                    "securityContext": part.get("podSecurityContext", {}),
                    "containers": [container],
                    "volumes": doc["spec"].get("volumes", []),
                },
            )


def restricted_pod_findings(label: str, spec: dict[str, Any]) -> list[str]:
    """The restricted Pod Security Standard, plus read-only root and no API token by default."""
    out = []
    pod_sc = spec.get("securityContext", {})
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        sc = c.get("securityContext", {})
        where = f"{label} container {c.get('name')}"

        def setting(key: str, sc: dict[str, Any] = sc) -> Any:
            return sc.get(key, pod_sc.get(key))

        if setting("runAsNonRoot") is not True:
            out.append(f"{where}: runAsNonRoot is not true")
        if setting("runAsUser") in (None, 0):
            out.append(f"{where}: runAsUser is unset or 0 (root)")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            out.append(f"{where}: privileged")
        if "ALL" not in (sc.get("capabilities", {}).get("drop") or []):
            out.append(f"{where}: capabilities.drop does not contain ALL")
        if sc.get("capabilities", {}).get("add"):
            out.append(f"{where}: adds capabilities {sc['capabilities']['add']}")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{where}: seccompProfile is not RuntimeDefault")
        if sc.get("readOnlyRootFilesystem") is not True:
            out.append(f"{where}: readOnlyRootFilesystem is not true")
    if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
        out.append(f"{label}: uses host namespaces")
    if any("hostPath" in v for v in spec.get("volumes", [])):
        out.append(f"{label}: mounts a hostPath volume")
    return out


def container_env(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for c in spec.get("containers", []) for e in c.get("env", [])}


# ---- settings of the two programs ----------------------------------------------------------


def producer_settings_model() -> Any:
    from tweet_producer.settings import Settings

    return Settings


def job_settings_models() -> tuple[Any, ...]:
    """The job's Settings and EsSettings (what setup-es and the CLI read)."""
    from sentiment_job.settings import EsSettings, Settings

    return Settings, EsSettings


def producer_setting_names() -> set[str]:
    """Env names the producer reads: its settings model's fields (aliases win)."""
    return set(producer_settings_model().env_names().values())


def job_setting_names() -> set[str]:
    """Env names the job, setup-es and the CLI read: their settings models' fields."""
    return {env for model in job_settings_models() for env in model.env_names().values()}


def setting_choices(model: Any, field: str) -> tuple[str, ...]:
    """The allowed values of a settings field (a Literal or an Enum), read from the model."""
    choices = model.choices(field)
    assert choices, f"{model.__name__}.{field} has no fixed choices"
    return choices


# ---- values.yaml documentation ---------------------------------------------------------------


def undocumented_values_keys(text: str) -> list[str]:
    """Keys of values.yaml not covered by a helm-docs `# --` comment on themselves or an
    ancestor (section keys whose children are all documented count as covered)."""
    lines = text.splitlines()
    key_re = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(.*)$")
    entries: list[tuple[int, str, bool, bool]] = []  # indent, path, documented, is_leaf
    stack: list[tuple[int, str, bool]] = []
    for i, line in enumerate(lines):
        m = key_re.match(line)
        if not m or line.lstrip().startswith("#") or line.lstrip().startswith("-"):
            continue
        indent, key, rest = len(m.group(1)), m.group(2), m.group(3).strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack and stack[-1][2]:
            continue  # inside a value documented as a whole (e.g. resources)
        prev = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        documented = prev.startswith("# --") or _comment_block_has_marker(lines, i)
        path = ".".join([s[1] for s in stack] + [key])
        is_leaf = rest != "" and not rest.startswith("#")
        stack.append((indent, key, documented))
        entries.append((indent, path, documented, is_leaf))
    covered_parents = {p for _, p, doc, _ in entries if doc}
    missing = []
    for _, path, documented, is_leaf in entries:
        if documented:
            continue
        children = [p for _, p, _, _ in entries if p.startswith(path + ".")]
        if (is_leaf or not children) and not any(path.startswith(c + ".") for c in covered_parents):
            missing.append(path)
    return missing


def _comment_block_has_marker(lines: list[str], i: int) -> bool:
    """A `# --` line anywhere in the comment block right above line i (multi-line docs)."""
    j = i - 1
    while j >= 0 and lines[j].strip().startswith("#"):
        if lines[j].strip().startswith("# --"):
            return True
        j -= 1
    return False
