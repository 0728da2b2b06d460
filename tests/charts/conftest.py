"""Fixtures of the offline chart checks: the pinned tools, the shared CRD schemas and the
chart rendered once per session for each values file we ship or test with."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from devtools.services import tools
from devtools.services.common import versions
from tests.charts.checks import CHART_DIR, load_docs

HERE = Path(__file__).resolve().parent
BAD_MANIFESTS = HERE / "bad" / "manifests"
NAMESPACE = "tweet-sentiment"
RELEASE = "tweet-sentiment"

# Variant name -> values files (relative to the repo root); "default" is values.yaml alone.
VARIANTS: dict[str, tuple[Path, ...]] = {
    "default": (),
    "dev": (CHART_DIR / "values-dev.yaml",),
    "prod": (CHART_DIR / "values-prod.yaml",),
    "x-filtered": (HERE / "values" / "x-filtered.yaml",),
    "plaintext-s3a": (HERE / "values" / "plaintext-s3a.yaml",),
    "bluesky": (HERE / "values" / "bluesky.yaml",),
}
SHIPPED = ("default", "dev", "prod")


def _tool(get: Callable[[], Path]) -> Path:
    try:
        return get()
    except tools.ToolError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def helm() -> Path:
    return _tool(tools.helm_bin)


@pytest.fixture(scope="session")
def kubeconform() -> Path:
    return _tool(tools.kubeconform_bin)


@pytest.fixture(scope="session")
def checkov() -> Path:
    return _tool(tools.checkov_bin)


@pytest.fixture(scope="session")
def kube_version() -> str:
    """The oldest Kubernetes we support (Chart.yaml kubeVersion), e.g. 1.30.0."""
    return versions()["KUBERNETES_VERSION"]


@pytest.fixture(scope="session")
def crd_dir(shared_dir: Path) -> Path:
    path = shared_dir / "crds" / "jsonschema"
    if not path.is_dir():
        pytest.fail(f"{path} is missing: the operators' CRD schemas live in shared/ (set TS_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def helm_template(helm: Path, kube_version: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `helm template` on the chart (or a copy of it) with values files and --set pairs."""

    def run(
        values: Sequence[Path] = (),
        sets: Sequence[str] = (),
        chart: Path = CHART_DIR,
        namespace: str = NAMESPACE,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [
            str(helm),
            "template",
            RELEASE,
            str(chart),
            "--namespace",
            namespace,
            "--kube-version",
            kube_version,
        ]
        for path in values:
            cmd += ["-f", str(path)]
        for pair in sets:
            cmd += ["--set", pair]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    return run


@pytest.fixture(scope="session")
def rendered_text(helm_template: Callable[..., subprocess.CompletedProcess[str]]) -> dict[str, str]:
    out = {}
    for name, values in VARIANTS.items():
        proc = helm_template(values)
        assert proc.returncode == 0, f"helm template ({name}) failed:\n{proc.stderr}"
        out[name] = proc.stdout
    return out


@pytest.fixture(scope="session")
def rendered(rendered_text: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Variant name -> the rendered objects."""
    return {name: load_docs(text) for name, text in rendered_text.items()}


def run_checkov(checkov: Path, target: Path) -> dict:
    """checkov on a folder of manifests; returns its `results` plus `summary`."""
    env = {
        **os.environ,
        # Offline: no guideline download from the vendor's API (it retries for ~30 s), no
        # update check.
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "WARNING",
    }
    cmd = [
        str(checkov),
        "-d",
        str(target),
        "--framework",
        "kubernetes",
        "--output",
        "json",
        "--skip-download",
        "--compact",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, check=False)
    # Exit 1 means "checks failed": the caller decides; anything else is checkov breaking.
    assert proc.returncode in (0, 1), f"checkov exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    if isinstance(report, list):
        (report,) = [r for r in report if r.get("check_type") == "kubernetes"]
    if not report:  # nothing scanned at all
        return {
            "failed_checks": [],
            "passed_checks": [],
            "skipped_checks": [],
            "summary": {"resource_count": 0},
        }
    return {**report["results"], "summary": report["summary"]}


@pytest.fixture(scope="session")
def checkov_reports(
    checkov: Path, rendered_text: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict]:
    """One checkov run (it takes ~10 s to start) over the shipped renders and the broken
    manifests of bad/, split back by folder."""
    target = tmp_path_factory.mktemp("checkov")
    (target / "rendered").mkdir()
    (target / "bad").mkdir()
    for name in SHIPPED:
        (target / "rendered" / f"{name}.yaml").write_text(rendered_text[name])
    for path in sorted((BAD_MANIFESTS).glob("*.yaml")):
        (target / "bad" / path.name).write_text(path.read_text())
    report = run_checkov(checkov, target)
    split: dict[str, dict] = {}
    for folder in ("rendered", "bad"):
        split[folder] = {
            key: [c for c in report.get(key, []) if Path(c["file_path"]).parent.name == folder]
            for key in ("failed_checks", "passed_checks", "skipped_checks")
        }
    split["rendered"]["summary"] = report["summary"]
    return split
