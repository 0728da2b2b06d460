"""The producer image's recipe: pinned base, the same pinned requirements the tests use,
non-root, read-only-root friendly. (No Docker engine here: the Dockerfile is checked as
text, and the requirement set against the installed, tested distributions.)"""

from __future__ import annotations

import re
from importlib import metadata
from importlib.resources import files

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools.services.common import versions
from tests.producer.producer_helpers import PRODUCER_DIR, REPO_ROOT

DOCKERFILE = (PRODUCER_DIR / "Dockerfile").read_text()
REQUIREMENTS = PRODUCER_DIR / "requirements.txt"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def args() -> dict[str, str]:
    return dict(rest.split("=", 1) for kw, rest in instructions() if kw == "ARG" and "=" in rest)


def pins() -> dict[str, str]:
    out = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
        assert match, f"not an exact pin: {line!r}"
        name, version = match.groups()
        out[canonicalize_name(name)] = version
    return out


def test_base_image_is_a_pinned_slim_python_of_the_pinned_version() -> None:
    python_version = versions()["PYTHON_VERSION"]
    (base,) = [rest for kw, rest in instructions() if kw == "FROM"]
    # The base is a build argument (the tests build on a stand-in) whose DEFAULT is the real one.
    assert base == "${BASE_IMAGE}"
    while "${" in base:
        expanded = re.sub(r"\$\{(\w+)\}", lambda m: args()[m.group(1)], base)
        assert expanded != base, base
        base = expanded
    assert args()["PYTHON_VERSION"] == python_version
    assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)", base), base
    assert base == f"python:{python_version}.{args()['PYTHON_PATCH']}-slim-bookworm"
    # Declared before FROM only: nothing after it can see (or depend on) the override.
    from_index = next(i for i, (kw, _) in enumerate(instructions()) if kw == "FROM")
    assert all("BASE_IMAGE" not in rest for kw, rest in instructions()[from_index + 1 :]), (
        "BASE_IMAGE must only choose the base"
    )


def test_image_installs_the_pinned_requirements_then_the_package_without_deps() -> None:
    runs = [rest for kw, rest in instructions() if kw == "RUN"]
    copies = [rest for kw, rest in instructions() if kw == "COPY"]
    assert "images/producer/requirements.txt /app/requirements.txt" in copies
    # Built from the repository root: the shared package comes along and is installed too.
    assert "packages/common /app/common" in copies
    install_reqs = next(i for i, r in enumerate(runs) if "-r /app/requirements.txt" in r)
    install_pkg = next(i for i, r in enumerate(runs) if "--no-deps /app/common /app" in r)
    assert install_reqs < install_pkg
    assert all("pip install" not in r or "-r /app/requirements.txt" in r or "--no-deps" in r for r in runs)


def test_the_tests_install_the_same_requirements_file() -> None:
    test_reqs = (REPO_ROOT / "tests" / "requirements.txt").read_text().splitlines()
    assert "-r ../images/producer/requirements.txt" in test_reqs


def test_requirements_are_exactly_the_installed_dependency_closure() -> None:
    """Every pin is installed at that version here (the tests ran on it), and the pins are
    exactly tweet-producer's transitive runtime dependencies: none missing, none extra.
    tweet-sentiment-common is ours (packages/common, copied into the image): its own
    dependencies are pinned here, itself is not."""
    pinned = pins()
    closure: set[str] = set()
    seen: set[str] = set()
    todo = [canonicalize_name(r.name) for r in map(Requirement, metadata.requires("tweet-producer") or [])]
    assert "tweet-sentiment-common" in todo
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name != "tweet-sentiment-common":
            closure.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    assert set(pinned) == closure
    for name, version in pinned.items():
        assert metadata.version(name) == version, (
            f"{name}: pinned {version}, tests run {metadata.version(name)}"
        )


def dockerignore_allows(path: str) -> bool:
    """Whether the root .dockerignore (deny all, then `!path` exceptions) sends `path`."""
    lines = [ln for ln in (REPO_ROOT / ".dockerignore").read_text().splitlines() if ln and ln[0] != "#"]
    assert lines[0] == "*"
    allowed = [ln[1:].rstrip("/") for ln in lines if ln.startswith("!")]
    return any(path == a or path.startswith(a + "/") or a.startswith(path + "/") for a in allowed)


def test_dockerignore_sends_only_what_the_image_needs() -> None:
    """The context is the repository root: every COPY source is sent, tests and docs are not."""
    sources = [rest.split()[0] for kw, rest in instructions() if kw == "COPY"]
    assert sources
    for source in sources:
        assert dockerignore_allows(source), source
    for unwanted in ("tests", "docs", "charts", ".venv", "images/producer/Dockerfile"):
        assert not dockerignore_allows(unwanted), unwanted
    assert "**/__pycache__" in (REPO_ROOT / ".dockerignore").read_text().splitlines()


def test_the_package_ships_its_json_schemas() -> None:
    schemas = files("tweet_producer") / "schemas"
    assert (schemas / "event-v1.schema.json").is_file()
    assert (schemas / "deadletter-v1.schema.json").is_file()
