"""TEST-ONLY stand-ins for the Docker Hub bases of our Dockerfiles, built from Debian packages.

The product Dockerfiles take their base as `ARG BASE_IMAGE` (default: the real Docker Hub
image). Docker Hub is unreachable here, so the tests build the SAME Dockerfiles on these
stand-ins, which honour the contract the Dockerfiles rely on (paths, users, environment,
entrypoint). Every difference from the real base is listed in devtools/images/README.md.

Recipe: `debootstrap --variant=minbase bookworm` (the mirror the host's apt uses) with the
Debian packages below, a few files changed in the tree (Python here; `rootfs_*` below), then
`tar -C ROOTFS -c . | docker import --change ... - NAME:TAG`. The tag is a hash of this
recipe (this file, the entrypoint script, the pinned versions), so a changed recipe builds
a new stand-in and an unchanged one is reused from the engine's store.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devtools.images.engine import Engine, apt_install, require_binary
from devtools.services.common import ServiceError, cache_dir, versions

HERE = Path(__file__).resolve().parent
ENTRYPOINT = HERE / "standin" / "spark-entrypoint.sh"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# The host's CA bundle (it trusts the TLS-intercepting egress): copied into the stand-ins
# ONLY, so builds on them can reach PyPI and Maven Central. Never into a product image.
HOST_CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
STANDIN_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CA_ENV = {
    "SSL_CERT_FILE": STANDIN_CA_BUNDLE,
    "PIP_CERT": STANDIN_CA_BUNDLE,
    "REQUESTS_CA_BUNDLE": STANDIN_CA_BUNDLE,
}
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SPARK_UID = 185
PY4J_VERSION = "0.10.9.9"  # the py4j pyspark 4.0.x requires (its python/lib/py4j-*-src.zip)


def images_cache() -> Path:
    path = cache_dir() / "images"
    path.mkdir(parents=True, exist_ok=True)
    return path


def host_debian_mirror() -> str:
    """The Debian mirror the host's apt uses for `bookworm` main (TS_DEBIAN_MIRROR overrides)."""
    if os.environ.get("TS_DEBIAN_MIRROR"):
        return os.environ["TS_DEBIAN_MIRROR"].rstrip("/")
    apt = Path("/etc/apt")
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]
    for f in files:
        if not f.is_file():
            continue
        text = f.read_text(errors="replace")
        if f.suffix == ".sources":  # deb822 stanzas
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for ln in stanza.splitlines():
                    key, _, value = ln.partition(":")
                    if not ln.startswith(("#", " ")) and value.strip():
                        fields[key.strip().lower()] = value.strip()
                if SUITE in fields.get("suites", "").split() and "main" in fields.get("components", ""):
                    return fields["uris"].split()[0].rstrip("/")
        else:
            for line in text.splitlines():
                parts = [p for p in line.split() if not p.startswith("[")]
                if len(parts) >= 4 and parts[0] == "deb" and parts[2] == SUITE and "main" in parts[3:]:
                    return parts[1].rstrip("/")
    return DEFAULT_MIRROR


@dataclass(frozen=True)
class StandIn:
    """One stand-in base: its Debian packages, tree changes and image configuration."""

    name: str  # the product base it stands in for (see BASE_IMAGE in the Dockerfile)
    replaces: str
    packages: tuple[str, ...]
    customize: Callable[[Path], dict[str, str]]  # edits the tree; returns extra ENV
    changes: tuple[str, ...]  # docker import --change instructions besides ENV

    def recipe_hash(self) -> str:
        h = hashlib.sha256()
        for f in (Path(__file__), ENTRYPOINT):
            h.update(f.read_bytes())
        h.update(repr((self.name, self.replaces, self.packages, self.changes)).encode())
        v = versions()
        h.update(f"{v['PYTHON_VERSION']} {v['SPARK_VERSION']} {v['SCALA_BINARY_VERSION']}".encode())
        return h.hexdigest()[:12]

    @property
    def ref(self) -> str:
        return f"tweet-sentiment-standin/{self.name}:{self.recipe_hash()}"


def _chroot(rootfs: Path, *cmd: str) -> None:
    proc = subprocess.run(["chroot", str(rootfs), *cmd], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ServiceError(f"chroot {' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")


def _common_tree(rootfs: Path) -> None:
    """What both stand-ins share: no apt lists or .debs, Python may pip-install as root, the
    host's CA bundle (the egress' CA), no policy that blocks pip."""
    for d in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for p in (rootfs / d).glob("*"):
            if p.is_file():
                p.unlink()
    # Debian's PEP 668 marker: neither real base has one (their pip installs as root).
    for marker in (rootfs / "usr/lib").glob("python3*/EXTERNALLY-MANAGED"):
        marker.unlink()
    shutil.copyfile(HOST_CA_BUNDLE, rootfs / STANDIN_CA_BUNDLE.lstrip("/"))
    # debootstrap copies the host's resolv.conf and hostname; Docker provides its own.
    for f in ("etc/resolv.conf", "etc/hostname"):
        (rootfs / f).unlink(missing_ok=True)


def _python_version(rootfs: Path) -> str:
    lib = next(iter(sorted((rootfs / "usr/lib").glob("python3.*/os.py"))), None)
    if lib is None:
        raise ServiceError("the stand-in has no Python 3")
    out = subprocess.run(
        ["chroot", str(rootfs), "python3", "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return out or lib.parent.name.removeprefix("python")


def customize_python(rootfs: Path) -> dict[str, str]:
    _common_tree(rootfs)
    return {
        "PATH": BASE_PATH,
        "LANG": "C.UTF-8",
        "PYTHON_VERSION": _python_version(rootfs),
        **CA_ENV,
    }


PYTHON = StandIn(
    name="python",
    replaces="python:{PYTHON_VERSION}.x-slim-bookworm",
    # python-is-python3: `python`; passwd (groupadd/useradd) is in minbase; what the real
    # slim image adds to Debian: ca-certificates, netbase, tzdata.
    packages=(
        "python3",
        "python3-pip",
        "python3-venv",
        "python-is-python3",
        "ca-certificates",
        "netbase",
        "tzdata",
    ),
    customize=customize_python,
    changes=('CMD ["python3"]',),
)


def pyspark_wheel(spark_version: str) -> Path:
    """The pyspark wheel (PyPI serves an sdist; pip builds the wheel once, then it is cached)."""
    dest = images_cache() / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob(f"pyspark-{spark_version}-*.whl"))
    if found:
        return found[0]
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True, check=False).returncode != 0:
        apt_install("python3-pip")
        pip = ["/usr/bin/python3", "-m", "pip"]
    print(f"building the pyspark {spark_version} wheel from PyPI's sdist (~430 MB, once) ...", flush=True)
    proc = subprocess.run(
        [*pip, "wheel", "--no-deps", "-q", "-w", str(dest), f"pyspark=={spark_version}"],
        capture_output=True,
        text=True,
        check=False,
    )
    found = sorted(dest.glob(f"pyspark-{spark_version}-*.whl"))
    if proc.returncode != 0 or not found:
        raise ServiceError(f"`pip wheel pyspark=={spark_version}` failed:\n{proc.stderr[-2000:]}")
    return found[0]


def _extract(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(member) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    mode = (member.external_attr >> 16) & 0o777
    target.chmod(mode or 0o644)


def install_spark_distribution(rootfs: Path, wheel: Path) -> None:
    """/opt/spark laid out like the Spark distribution in the official image, from the wheel's
    pyspark/{jars,bin,sbin,python/lib,data,examples} and the pyspark package itself."""
    spark = rootfs / "opt/spark"
    layout = {  # wheel prefix -> place under /opt/spark
        "pyspark/jars/": "jars/",
        "pyspark/bin/": "bin/",
        "pyspark/sbin/": "sbin/",
        "pyspark/python/lib/": "python/lib/",
        "pyspark/data/": "data/",
        "pyspark/examples/": "examples/",
    }
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.infolist():
            if member.is_dir() or not member.filename.startswith("pyspark/"):
                continue
            name = member.filename
            prefix = next((p for p in layout if name.startswith(p)), None)
            if prefix is not None:
                rel = layout[prefix] + name[len(prefix) :]
            elif "__pycache__" in name:
                continue
            else:  # the Python package: /opt/spark/python/pyspark
                rel = "python/" + name
            target = spark / rel
            _extract(zf, member, target)
            if prefix in ("pyspark/bin/", "pyspark/sbin/") and not name.endswith(".cmd"):
                target.chmod(0o755)
    for required in ("bin/spark-submit", "bin/spark-class", "sbin/spark-daemon.sh", "python/lib/pyspark.zip"):
        if not (spark / required).exists():
            raise ServiceError(
                f"{wheel.name} has no {required}: is it a Spark {versions()['SPARK_VERSION']} wheel?"
            )
    if not list((spark / "python/lib").glob("py4j-*-src.zip")):
        raise ServiceError(f"{wheel.name} has no python/lib/py4j-*-src.zip")
    scala = versions()["SCALA_BINARY_VERSION"]
    if not list((spark / "jars").glob(f"spark-kubernetes_{scala}-*.jar")):
        raise ServiceError(f"{wheel.name} has no spark-kubernetes_{scala} jar")
    # bin/*.cmd are Windows-only; the distribution keeps them, so do we.
    (spark / "RELEASE").write_text(
        f"Spark {versions()['SPARK_VERSION']} (test stand-in: jars from the pyspark wheel)\n"
    )
    (spark / "work-dir").mkdir(parents=True, exist_ok=True)


def customize_spark(rootfs: Path) -> dict[str, str]:
    _common_tree(rootfs)
    # The official image runs Java from /opt/java/openjdk (eclipse-temurin); point it at Debian's.
    jvm = next(iter(sorted((rootfs / "usr/lib/jvm").glob("java-17-openjdk-*"))), None)
    if jvm is None:
        raise ServiceError("openjdk-17-jdk-headless did not install a JVM under /usr/lib/jvm")
    (rootfs / "opt/java").mkdir(parents=True, exist_ok=True)
    (rootfs / "opt/java/openjdk").symlink_to(f"/usr/lib/jvm/{jvm.name}")
    _chroot(rootfs, "groupadd", "--system", f"--gid={SPARK_UID}", "spark")
    _chroot(rootfs, "useradd", "--system", f"--uid={SPARK_UID}", "--gid=spark", "spark")
    install_spark_distribution(rootfs, pyspark_wheel(versions()["SPARK_VERSION"]))
    shutil.copyfile(ENTRYPOINT, rootfs / "opt/entrypoint.sh")
    (rootfs / "opt/entrypoint.sh").chmod(0o755)
    for path in [rootfs / "opt/spark", *(rootfs / "opt/spark").rglob("*")]:
        os.lchown(path, SPARK_UID, SPARK_UID)
    work = rootfs / "opt/spark/work-dir"
    work.chmod(work.stat().st_mode | stat.S_IWGRP)
    return {
        "JAVA_HOME": "/opt/java/openjdk",
        "PATH": f"/opt/java/openjdk/bin:{BASE_PATH}",
        "LANG": "C.UTF-8",
        "SPARK_HOME": "/opt/spark",
        **CA_ENV,
    }


SPARK = StandIn(
    name="spark",
    replaces="apache/spark:{SPARK_VERSION}-scala{SCALA_BINARY_VERSION}-java17-python3-ubuntu",
    # What the official image installs (less krb5-user, gnupg2, libpam-modules, net-tools),
    # a Java 17 JDK (its eclipse-temurin:17-jammy base is one: the Dockerfile compiles with its
    # javac) and python3 + pip (its -python3 variant).
    packages=(
        "openjdk-17-jdk-headless",
        "python3",
        "python3-pip",
        "tini",
        "wget",
        "bash",
        "procps",
        "gosu",
        "libnss-wrapper",
        "libnss3",
        "ca-certificates",
    ),
    customize=customize_spark,
    changes=("WORKDIR /opt/spark/work-dir", "USER spark", 'ENTRYPOINT ["/opt/entrypoint.sh"]'),
)

STANDINS = {"producer": PYTHON, "spark-job": SPARK}


def build_standin(engine: Engine, standin: StandIn, log: Callable[[str], None] = print) -> str:
    """The stand-in's image reference, built (debootstrap + import) unless the engine has it."""
    ref = standin.ref
    if engine.image_exists(ref):
        return ref
    if os.geteuid() != 0:
        raise ServiceError("building a stand-in base (debootstrap, chroot) needs root")
    debootstrap = require_binary("debootstrap")
    mirror = host_debian_mirror()
    work = images_cache() / "standins"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{standin.name}-", dir=work) as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"stand-in {ref}: debootstrap {SUITE} from {mirror} (1-3 min) ...")
        include = f"--include={','.join(standin.packages)}"
        proc = subprocess.run(
            ["nice", "-n", "10", debootstrap, "--variant=minbase", include, SUITE, str(rootfs), mirror],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            debootstrap_log = rootfs / "debootstrap" / "debootstrap.log"
            detail = debootstrap_log.read_text()[-3000:] if debootstrap_log.exists() else proc.stderr[-3000:]
            raise ServiceError(f"debootstrap of the {standin.name} stand-in failed:\n{detail}")
        env = standin.customize(rootfs)
        changes = [f"ENV {k}={v}" for k, v in env.items()]
        changes += list(standin.changes)
        changes.append(f"LABEL io.tweet-sentiment.standin-for={standin.replaces.format(**versions())}")
        log(f"stand-in {ref}: docker import ...")
        import_cmd = [engine.docker, "import"]
        for change in changes:
            import_cmd += ["--change", change]
        import_cmd += ["-", ref]
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
        )
        imp = subprocess.run(
            import_cmd, stdin=tar.stdout, env=engine.env, capture_output=True, text=True, check=False
        )
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imp.returncode != 0:
            raise ServiceError(f"docker import of {ref} failed:\n{imp.stderr[-2000:]}")
        # The tree has root-owned files with odd modes; TemporaryDirectory copes as root.
    return ref
