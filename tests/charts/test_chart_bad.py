"""Broken inputs are rejected, each for the reason its file states in its first line:
values files by the chart's schema or templates (helm), manifests by strict schema
validation or by the security lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.charts.checks import load_docs, pod_specs, restricted_pod_findings, schema_errors

BAD = Path(__file__).resolve().parent / "bad"


def expectation(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be `# expect: <reason>`"
    return first.removeprefix("# expect: ").strip()


def bad_files(kind: str, mode: str | None = None) -> list[Path]:
    files = sorted((BAD / kind).glob("*.yaml"))
    if mode is not None:
        files = [p for p in files if expectation(p).startswith(f"{mode}: ")]
    return files


@pytest.mark.parametrize("path", bad_files("values"), ids=lambda p: p.stem)
def test_bad_values_are_rejected_by_helm(helm_template, path: Path) -> None:
    proc = helm_template(values=[path])
    assert proc.returncode != 0, f"{path.name} rendered"
    assert expectation(path) in proc.stderr, proc.stderr


@pytest.mark.parametrize("path", bad_files("manifests", "schema"), ids=lambda p: p.stem)
def test_bad_manifests_fail_schema_validation(path: Path, crd_dir: Path) -> None:
    reason = expectation(path).removeprefix("schema: ")
    errors = [e for doc in load_docs(path.read_text()) for e in schema_errors(doc, crd_dir, "1.30")]
    assert errors, f"{path.name} passed schema validation"
    assert any(reason in e for e in errors), errors


@pytest.fixture(scope="module")
def checkov_on_bad_manifests(checkov_reports: dict[str, dict]) -> dict:
    return checkov_reports["bad"]


@pytest.mark.parametrize("path", bad_files("manifests", "security"), ids=lambda p: p.stem)
def test_bad_manifests_fail_the_security_lint(
    path: Path, crd_dir: Path, checkov_on_bad_manifests: dict
) -> None:
    check_id, policy = (part.strip() for part in expectation(path).removeprefix("security: ").split("|"))
    # Schema-valid: the security lint, not the schema, is what rejects it.
    assert [e for doc in load_docs(path.read_text()) for e in schema_errors(doc, crd_dir, "1.30")] == []
    failed = {(c["check_id"], Path(c["file_path"]).name) for c in checkov_on_bad_manifests["failed_checks"]}
    assert (check_id, path.name) in failed, sorted(failed)
    findings = [
        f
        for doc in load_docs(path.read_text())
        for label, spec in pod_specs(doc)
        for f in restricted_pod_findings(label, spec)
    ]
    assert any(policy in f for f in findings), findings


def test_every_bad_file_states_a_known_mode() -> None:
    for path in bad_files("manifests"):
        assert expectation(path).split(":")[0] in {"schema", "security"}, path.name
    assert len(bad_files("values")) >= 10
    assert len(bad_files("manifests")) >= 8
