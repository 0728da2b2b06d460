"""Build the product images from their own Dockerfiles on the test-only stand-in bases.

`ensure_images()` returns {component: tarball}. Each image is tagged with a content hash of
what goes into it: the Dockerfile, the root .dockerignore, every file its COPY sources send,
and the stand-in recipe. An existing tarball for that tag means nothing changed: no engine
is even contacted. Otherwise the image is built (`docker build --network host`, classic
builder, `--build-arg BASE_IMAGE=<stand-in>`) and saved to
`$TS_CACHE_DIR/images/<component>-<tag>.tar` (written to a temporary name, then renamed).
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from devtools.images.engine import Engine, ensure_engine
from devtools.images.standins import PYTHON, SPARK, StandIn, build_standin, images_cache
from devtools.services.common import REPO_ROOT, ServiceError

KEEP_TARBALLS = 3  # per component: other worktrees may be using an older tag


@dataclass(frozen=True)
class Product:
    component: str
    repository: str  # charts/tweet-sentiment/values.yaml <component>.image.repository
    dockerfile: str  # relative to the repository root (the build context)
    standin: StandIn


PRODUCTS = {
    "producer": Product("producer", "tweet-sentiment/producer", "images/producer/Dockerfile", PYTHON),
    "spark-job": Product("spark-job", "tweet-sentiment/spark-job", "images/spark-job/Dockerfile", SPARK),
}


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def copy_sources(dockerfile: Path) -> list[str]:
    """The context paths a Dockerfile's COPY/ADD instructions read (not `--from=` stages)."""
    sources = []
    for keyword, rest in dockerfile_instructions(dockerfile.read_text()):
        if keyword not in {"COPY", "ADD"}:
            continue
        words = rest.split()
        if any(w.startswith("--from") for w in words):
            continue
        sources += [w for w in words if not w.startswith("--")][:-1]
    return sources


def _ignore_patterns() -> list[str]:
    """The root .dockerignore's exclusions that apply inside the `!`-included paths."""
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and ln.strip()[0] not in "#!" and ln.strip() != "*"]


def _ignored(rel: str, patterns: list[str]) -> bool:
    parts = rel.split("/")
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
                return True
        elif fnmatch.fnmatch(rel, pattern):
            return True
    return False


def context_files(product: Product) -> list[Path]:
    patterns = _ignore_patterns()
    files: set[Path] = set()
    for source in copy_sources(REPO_ROOT / product.dockerfile):
        path = REPO_ROOT / source
        if not path.exists():
            raise ServiceError(f"{product.dockerfile}: COPY source {source} does not exist")
        candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for f in candidates:
            rel = f.relative_to(REPO_ROOT).as_posix()
            if not _ignored(rel, patterns):
                files.add(f)
    return sorted(files)


def content_tag(product: Product) -> str:
    h = hashlib.sha256()
    h.update(f"standin {product.standin.ref}\n".encode())
    for f in [REPO_ROOT / product.dockerfile, REPO_ROOT / ".dockerignore", *context_files(product)]:
        h.update(f"{f.relative_to(REPO_ROOT).as_posix()}\0".encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:12]


def image_ref(component: str) -> str:
    """`tweet-sentiment/<component>:<content tag>` for the current sources."""
    product = PRODUCTS[component]
    return f"{product.repository}:{content_tag(product)}"


def image_refs() -> dict[str, str]:
    return {c: image_ref(c) for c in PRODUCTS}


# The chart's values naming each component's image (charts/tweet-sentiment/values.yaml).
CHART_VALUES = {"producer": "producer.image", "spark-job": "job.image"}


def chart_image_values() -> dict[str, str]:
    """`helm --set` pairs pointing the chart at the images of the current sources."""
    out = {}
    for component, ref in image_refs().items():
        repository, tag = ref.rsplit(":", 1)
        out[f"{CHART_VALUES[component]}.repository"] = repository
        out[f"{CHART_VALUES[component]}.tag"] = tag
    return out


def tarball_path(component: str, tag: str) -> Path:
    return images_cache() / f"{component}-{tag}.tar"


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One build at a time on this machine (several worktrees share $TS_CACHE_DIR)."""
    with open(images_cache() / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _prune(component: str, keep: Path) -> None:
    old = sorted(
        (p for p in images_cache().glob(f"{component}-*.tar") if p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for p in old[KEEP_TARBALLS - 1 :]:
        p.unlink(missing_ok=True)
        p.with_suffix(".json").unlink(missing_ok=True)


def build_image(engine: Engine, product: Product, log: Callable[[str], None] = print) -> Path:
    tag = content_tag(product)
    ref = f"{product.repository}:{tag}"
    tarball = tarball_path(product.component, tag)
    if tarball.exists():
        return tarball
    base = build_standin(engine, product.standin, log)
    started = time.monotonic()
    if not engine.image_exists(ref):
        log(f"{ref}: docker build -f {product.dockerfile} . on {base} ...")
        engine.run(
            "build",
            "--network=host",
            f"--build-arg=BASE_IMAGE={base}",
            f"--label=io.tweet-sentiment.test-base={base}",
            f"--file={product.dockerfile}",
            f"--tag={ref}",
            str(REPO_ROOT),
            timeout=3600,
        )
    log(f"{ref}: docker save -> {tarball}")
    partial = tarball.with_name(tarball.name + ".partial")
    engine.run("save", "--output", str(partial), ref, timeout=1800)
    partial.chmod(0o644)  # `docker save` writes 0600; the cluster's loader may not be us
    partial.rename(tarball)
    size = engine.run("image", "inspect", "--format", "{{.Size}}", ref).stdout.strip()
    tarball.with_suffix(".json").write_text(
        json.dumps(
            {
                "ref": ref,
                "base": base,
                "image_size": int(size),
                "build_seconds": round(time.monotonic() - started),
            },
            indent=2,
        )
        + "\n"
    )
    _prune(product.component, tarball)
    return tarball


def ensure_images(log: Callable[[str], None] = print) -> dict[str, Path]:
    """{component: tarball of its image}, built only when its content tag has no tarball yet."""
    with _build_lock():
        wanted = {c: tarball_path(c, content_tag(p)) for c, p in PRODUCTS.items()}
        if all(t.exists() for t in wanted.values()):
            return wanted
        engine = ensure_engine()
        # The stand-ins first, side by side (mostly downloads and dpkg: ~1 min saved cold).
        missing = list(dict.fromkeys(p.standin for c, p in PRODUCTS.items() if not wanted[c].exists()))
        with ThreadPoolExecutor(max_workers=2) as pool:
            for future in [pool.submit(build_standin, engine, s, log) for s in missing]:
                future.result()
        return {c: build_image(engine, p, log) for c, p in PRODUCTS.items()}


def ensure_loaded(engine: Engine, component: str) -> str:
    """The image of `component` present in `engine` (loaded from its tarball if needed)."""
    ref = image_ref(component)
    if not engine.image_exists(ref):
        tarball = ensure_images()[component]
        engine.run("load", "--input", str(tarball), timeout=1800)
    return ref
