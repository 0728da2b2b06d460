"""Types shared by the image tests and their fixtures."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

# run(*args, docker_args=(...), entrypoint=None, timeout=180) -> the finished `docker run`
RunImage = Callable[..., subprocess.CompletedProcess[str]]
