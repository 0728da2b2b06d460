"""The product images, built once per session from their own Dockerfiles on the test-only
stand-in bases (devtools/images), and a way to run them (`docker run`, no network)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from devtools.images import Engine, ensure_engine, ensure_images, ensure_loaded, find_engine, stop_engine
from devtools.services.common import ServiceError
from tests.conftest import KEEP
from tests.images.images_helpers import RunImage


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Engine]:
    """The engine; one this session started is stopped at its end (TS_KEEP_SERVICES=1 keeps it)."""
    try:
        ensure_images()  # cold: minutes (stand-ins + builds); warm: milliseconds
        started = find_engine() is None
        engine = ensure_engine()
    except ServiceError as exc:
        pytest.fail(f"cannot build the product images: {exc}", pytrace=False)
    yield engine
    if started and not KEEP:
        stop_engine()


def _runner(engine: Engine, ref: str) -> RunImage:
    def run(
        *args: str, docker_args: tuple[str, ...] = (), timeout: float = 180, entrypoint: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        # No network; the hostname resolves (to 127.0.0.1), as a pod's does (Spark needs it).
        cmd = ["run", "--rm", "--network=none", "--hostname=localhost", *docker_args]
        if entrypoint is not None:
            cmd.append(f"--entrypoint={entrypoint}")
        return engine.run(*cmd, ref, *args, timeout=timeout, check=False)

    return run


@pytest.fixture(scope="session")
def producer_image(docker_engine: Engine) -> str:
    return ensure_loaded(docker_engine, "producer")


@pytest.fixture(scope="session")
def job_image(docker_engine: Engine) -> str:
    return ensure_loaded(docker_engine, "spark-job")


@pytest.fixture(scope="session")
def run_producer(docker_engine: Engine, producer_image: str) -> RunImage:
    return _runner(docker_engine, producer_image)


@pytest.fixture(scope="session")
def run_job(docker_engine: Engine, job_image: str) -> RunImage:
    return _runner(docker_engine, job_image)
