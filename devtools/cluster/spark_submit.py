"""Run a rendered SparkApplication the way spark-operator 2.5 runs it, on a cluster without the operator.

spark-operator is not obtainable here (not on the Go module proxy), so the cluster tests
submit what it would submit:

- **spark-submit arguments**: the same `--conf`s, in the same order, that the operator's
  `buildSparkSubmitArgs` (internal/controller/sparkapplication/submission.go) builds from
  the spec: master, cluster deploy mode, name, namespace, image, pull policy,
  `waitAppCompletion=false`, `spec.sparkConf`, driver pod name, the operator's driver and
  executor labels, cores, core limits, memory, service accounts, executor instances, the
  `spark-local-dir-*` volumes (the only ones the operator passes as `--conf`), node selector,
  the main file and its arguments.
- **pod templates** for what the operator's mutating webhook patches into the driver and
  executor pods: the other volumes and their mounts (Secrets, the checkpoint claim), `env`,
  pod and container security contexts, container ports and tolerations. Spark merges a pod
  template under its own pod spec, so the pods end up with the same fields. The operator's
  `mutated-by-spark-operator` label is left off: nothing mutates these pods.
- **restartPolicy `OnFailure`**: `Supervisor` resubmits, after `onFailureRetryInterval`
  seconds and at most `onFailureRetries` times, when the driver pod fails or disappears.

Not done, because nothing in our chart uses it: `deps`, `hadoopConf`, `driver.secrets`,
`envSecretKeyRefs`, dynamic allocation, the operator's UI Service and Ingress, and its
status in `.status` (there is no controller to write it).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCAL_DIR_PREFIX = "spark-local-dir-"
LABEL_APP_NAME = "sparkoperator.k8s.io/app-name"
LABEL_LAUNCHED = "sparkoperator.k8s.io/launched-by-spark-operator"
LABEL_SUBMISSION = "sparkoperator.k8s.io/submission-id"
DRIVER_CONTAINER = "spark-kubernetes-driver"
EXECUTOR_CONTAINER = "spark-kubernetes-executor"
# Optional driver/executor fields and their confs, in the operator's order (after `cores`).
ROLE_FIELDS = (
    ("coreRequest", "spark.kubernetes.{role}.request.cores"),
    ("coreLimit", "spark.kubernetes.{role}.limit.cores"),
    ("memory", "spark.{role}.memory"),
    ("memoryOverhead", "spark.{role}.memoryOverhead"),
    ("serviceAccount", "spark.kubernetes.authenticate.{role}.serviceAccountName"),
    ("javaOptions", "spark.{role}.extraJavaOptions"),
)
# What spark-submit itself needs from our environment; the rest is given explicitly.
PASSED_ENV = ("PATH", "HOME", "LANG", "TMPDIR", "SSL_CERT_FILE")
VOLUME_TYPES = {
    "emptyDir": "emptyDir",
    "hostPath": "hostPath",
    "nfs": "nfs",
    "persistentVolumeClaim": "persistentVolumeClaim",
}


@dataclass(frozen=True)
class Submission:
    """One spark-submit run: its arguments (after the `spark-submit` binary) and pod templates."""

    args: list[str]
    driver_pod: str
    submission_id: str
    driver_template: dict[str, Any]
    executor_template: dict[str, Any]


def driver_pod_name(app: Mapping[str, Any]) -> str:
    conf = app["spec"].get("sparkConf") or {}
    return str(conf.get("spark.kubernetes.driver.pod.name") or f"{app['metadata']['name']}-driver")


def _conf(key: str, value: object) -> list[str]:
    return ["--conf", f"{key}={value}"]


def _local_dir_volumes(spec: Mapping[str, Any], role: str) -> list[str]:
    """The operator's `--conf`s for `spark-local-dir-*` volumes (util.GetLocalVolumes)."""
    volumes = {v["name"]: v for v in spec.get("volumes") or [] if v["name"].startswith(LOCAL_DIR_PREFIX)}
    args: list[str] = []
    for mount in spec[role].get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            continue
        kind = next((VOLUME_TYPES[k] for k in VOLUME_TYPES if k in volume), None)
        if kind is None:
            raise ValueError(f"volume {mount['name']}: unsupported type for a Spark local dir")
        prefix = f"spark.kubernetes.{role}.volumes.{kind}.{mount['name']}"
        args += _conf(f"{prefix}.mount.path", mount["mountPath"])
        if mount.get("subPath"):
            args += _conf(f"{prefix}.mount.subPath", mount["subPath"])
        if mount.get("readOnly"):
            args += _conf(f"{prefix}.mount.readOnly", "true")
        if kind == "emptyDir" and (volume["emptyDir"] or {}).get("sizeLimit"):
            args += _conf(f"{prefix}.options.sizeLimit", volume["emptyDir"]["sizeLimit"])
        elif kind == "persistentVolumeClaim":
            args += _conf(f"{prefix}.options.claimName", volume["persistentVolumeClaim"]["claimName"])
        elif kind == "hostPath":
            args += _conf(f"{prefix}.options.path", volume["hostPath"]["path"])
    return args


def _role_confs(app: Mapping[str, Any], role: str, submission_id: str) -> list[str]:
    spec = app["spec"]
    r = spec[role]
    name = app["metadata"]["name"]
    args = _conf(f"spark.kubernetes.{role}.label.{LABEL_APP_NAME}", name)
    args += _conf(f"spark.kubernetes.{role}.label.{LABEL_LAUNCHED}", "true")
    args += _conf(f"spark.kubernetes.{role}.label.{LABEL_SUBMISSION}", submission_id)
    if role == "executor" and r.get("instances") is not None:
        args += _conf("spark.executor.instances", r["instances"])
    image = r.get("image") or spec.get("image")
    if image:
        args += _conf(f"spark.kubernetes.{role}.container.image", image)
    if r.get("cores") is not None:
        args += _conf(f"spark.{role}.cores", r["cores"])
    for field, key in ROLE_FIELDS:
        if r.get(field):
            args += _conf(key.format(role=role), r[field])
    labels = {**(app["metadata"].get("labels") or {}), **(r.get("labels") or {})}
    for key, value in labels.items():
        args += _conf(f"spark.kubernetes.{role}.label.{key}", value)
    for key, value in (r.get("annotations") or {}).items():
        args += _conf(f"spark.kubernetes.{role}.annotation.{key}", value)
    return args


def pod_template(app: Mapping[str, Any], role: str) -> dict[str, Any]:
    """What the operator's webhook patches into the `role` pod, as a Spark pod template."""
    spec = app["spec"]
    r = spec[role]
    mounts = [m for m in r.get("volumeMounts") or [] if not m["name"].startswith(LOCAL_DIR_PREFIX)]
    wanted = {m["name"] for m in mounts}
    volumes = [v for v in spec.get("volumes") or [] if v["name"] in wanted]
    container: dict[str, Any] = {"name": DRIVER_CONTAINER if role == "driver" else EXECUTOR_CONTAINER}
    if r.get("env"):
        container["env"] = list(r["env"])
    if mounts:
        container["volumeMounts"] = mounts
    if r.get("securityContext"):
        container["securityContext"] = r["securityContext"]
    if r.get("ports"):
        container["ports"] = list(r["ports"])
    pod_spec: dict[str, Any] = {"containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    if r.get("podSecurityContext"):
        pod_spec["securityContext"] = r["podSecurityContext"]
    if r.get("tolerations"):
        pod_spec["tolerations"] = r["tolerations"]
    return {"apiVersion": "v1", "kind": "Pod", "spec": pod_spec}


def build(
    app: Mapping[str, Any], master: str, template_dir: Path, submission_id: str | None = None
) -> Submission:
    """The spark-submit arguments for `app` (a rendered SparkApplication) and its pod templates.

    `master` is `k8s://https://host:port`; the templates are written into `template_dir`.
    """
    if app.get("kind") != "SparkApplication":
        raise ValueError(f"expected a SparkApplication, got {app.get('kind')!r}")
    spec = app["spec"]
    if spec.get("mode", "cluster") != "cluster":
        raise ValueError("only spec.mode=cluster is supported (what the operator runs)")
    sid = submission_id or str(uuid.uuid4())
    name = app["metadata"]["name"]
    namespace = app["metadata"].get("namespace") or "default"
    driver_pod = driver_pod_name(app)
    templates = {role: pod_template(app, role) for role in ("driver", "executor")}
    template_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role, template in templates.items():
        paths[role] = template_dir / f"{role}-pod-template.yaml"
        # JSON is YAML: Spark's Kubernetes client reads it as a pod template.
        paths[role].write_text(json.dumps(template, indent=2))

    args = ["--master", master, "--deploy-mode", "cluster", "--name", name]
    args += _conf("spark.kubernetes.namespace", namespace)
    if spec.get("image"):
        args += _conf("spark.kubernetes.container.image", spec["image"])
    if spec.get("imagePullPolicy"):
        args += _conf("spark.kubernetes.container.image.pullPolicy", spec["imagePullPolicy"])
    if spec.get("imagePullSecrets"):
        args += _conf("spark.kubernetes.container.image.pullSecrets", ",".join(spec["imagePullSecrets"]))
    if spec.get("pythonVersion"):
        args += _conf("spark.kubernetes.pyspark.pythonVersion", spec["pythonVersion"])
    args += _conf("spark.kubernetes.submission.waitAppCompletion", "false")
    for key, value in (spec.get("sparkConf") or {}).items():
        if key != "spark.kubernetes.driver.pod.name":
            args += _conf(key, value)
    args += _conf("spark.kubernetes.driver.podTemplateFile", paths["driver"])
    args += _conf("spark.kubernetes.driver.podTemplateContainerName", DRIVER_CONTAINER)
    args += _conf("spark.kubernetes.driver.pod.name", driver_pod)
    args += _role_confs(app, "driver", sid)
    args += _local_dir_volumes(spec, "driver")
    args += _conf("spark.kubernetes.executor.podTemplateFile", paths["executor"])
    args += _conf("spark.kubernetes.executor.podTemplateContainerName", EXECUTOR_CONTAINER)
    args += _role_confs(app, "executor", sid)
    args += _local_dir_volumes(spec, "executor")
    for key, value in (spec.get("nodeSelector") or {}).items():
        args += _conf(f"spark.kubernetes.node.selector.{key}", value)
    args.append(spec["mainApplicationFile"])
    args += [str(a) for a in spec.get("arguments") or []]
    return Submission(
        args=args,
        driver_pod=driver_pod,
        submission_id=sid,
        driver_template=templates["driver"],
        executor_template=templates["executor"],
    )


@dataclass
class Supervisor:
    """Submits a SparkApplication and applies its restartPolicy, like the operator's controller.

    `spark_submit` is the spark-submit command; `kubectl` runs kubectl with the cluster's
    kubeconfig (a list of its arguments in, stdout out, raising on failure).
    """

    app: Mapping[str, Any]
    master: str
    work_dir: Path
    spark_submit: Sequence[str]
    kubectl: Callable[[Sequence[str]], str]
    env: Mapping[str, str] | None = None
    submissions: int = 0
    log: list[str] | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.log = []

    @property
    def namespace(self) -> str:
        return str(self.app["metadata"].get("namespace") or "default")

    @property
    def driver_pod(self) -> str:
        return driver_pod_name(self.app)

    def submit(self) -> Submission:
        sub = build(self.app, self.master, self.work_dir / f"submission-{self.submissions}")
        # A clean environment, as in the operator's pod: the host's PYSPARK_PYTHON, SPARK_CONF_DIR
        # and the like would otherwise be copied into the driver's configuration.
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ} | dict(self.env or {})
        out = subprocess.run(
            [*self.spark_submit, *sub.args], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        (self.work_dir / f"submission-{self.submissions}" / "spark-submit.log").write_text(
            out.stdout + out.stderr
        )
        if out.returncode != 0:
            raise RuntimeError(f"spark-submit failed (exit {out.returncode}): {out.stderr[-2000:]}")
        self.submissions += 1
        assert self.log is not None
        self.log.append(f"submitted {sub.submission_id}")
        return sub

    def driver_phase(self) -> str | None:
        """The driver pod's phase, or None when it does not exist."""
        try:
            out = self.kubectl(["-n", self.namespace, "get", "pod", self.driver_pod, "-o", "json"])
        except RuntimeError as exc:
            if "NotFound" in str(exc) or "not found" in str(exc):
                return None
            raise
        pod = json.loads(out)
        if pod["metadata"].get("deletionTimestamp"):
            return "Terminating"
        return str(pod["status"].get("phase", "Pending"))

    def start(self, poll: float = 1.0) -> None:
        """Submit, then watch the driver in a background thread and resubmit on failure."""
        self.submit()
        self._thread = threading.Thread(
            target=self._watch, args=(poll,), name="spark-supervisor", daemon=True
        )
        self._thread.start()

    def _watch(self, poll: float) -> None:
        restart = self.app["spec"].get("restartPolicy") or {}
        retries = int(restart.get("onFailureRetries", 0)) if restart.get("type") == "OnFailure" else 0
        interval = float(restart.get("onFailureRetryInterval", 5))
        failures = 0
        while not self._stop.is_set():
            try:
                phase = self.driver_phase()
            except RuntimeError:
                phase = "Unknown"
            if phase in (None, "Failed") and failures < retries:
                failures += 1
                assert self.log is not None
                self.log.append(
                    f"driver {phase or 'gone'}; resubmitting in {interval:.0f}s ({failures}/{retries})"
                )
                if phase == "Failed":
                    self.kubectl(["-n", self.namespace, "delete", "pod", self.driver_pod, "--wait=true"])
                if self._stop.wait(interval):
                    return
                try:
                    self.submit()
                except RuntimeError as exc:
                    self.log.append(f"resubmission failed: {exc}")
            self._stop.wait(poll)

    def stop(self, delete_driver: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if delete_driver:
            self.kubectl(
                ["-n", self.namespace, "delete", "pod", self.driver_pod, "--ignore-not-found", "--wait=true"]
            )


@dataclass
class Operator:
    """Runs one SparkApplication as soon as it exists, as the operator's controller does.

    `helm install --wait` waits for the checkpoint claim to bind, which on a
    WaitForFirstConsumer class happens only once the driver pod exists: the application
    has to be submitted while the install is still waiting, not after it.
    """

    namespace: str
    name: str
    kubectl: Callable[[Sequence[str]], str]
    make: Callable[[Mapping[str, Any]], Supervisor]
    supervisor: Supervisor | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spark-operator-stand-in", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                out = self.kubectl(["-n", self.namespace, "get", "sparkapplication", self.name, "-o", "json"])
            except RuntimeError:
                self._stop.wait(1.0)
                continue
            try:
                self.supervisor = self.make(json.loads(out))
                self.supervisor.start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                self.error = str(exc)
            return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        if self.supervisor is not None:
            self.supervisor.stop()
