"""The product images, built with a Docker engine from their own Dockerfiles (`make images`).

Public API (standard library only; the test session and devtools.cluster use it):

- `ensure_images() -> dict[str, Path]`: {"producer": tarball, "spark-job": tarball}, built
  when the sources changed, else returned at once (see devtools.images.build).
- `image_refs() -> dict[str, str]` / `image_ref(component)`: `tweet-sentiment/<component>:<tag>`,
  the repository names charts/tweet-sentiment/values.yaml uses, tagged by content hash.
- `chart_image_values()`: {"producer.image.repository": ..., "producer.image.tag": ..., "job.image.…"}
  for `helm --set`.
- `ensure_engine()`, `stop_engine()`: the Docker engine (ours is started only if none answers).
- `ensure_loaded(engine, component)`: the image present in that engine (loaded from its tarball).

Images built here stand on TEST-ONLY stand-in bases (devtools/images/README.md); users build
the same Dockerfiles on the real Docker Hub bases (`make k8s-images`).
"""

from devtools.images.build import (
    PRODUCTS,
    chart_image_values,
    ensure_images,
    ensure_loaded,
    image_ref,
    image_refs,
    tarball_path,
)
from devtools.images.engine import Engine, ensure_engine, find_engine, stop_engine

__all__ = [
    "PRODUCTS",
    "Engine",
    "chart_image_values",
    "ensure_engine",
    "ensure_images",
    "ensure_loaded",
    "find_engine",
    "image_ref",
    "image_refs",
    "stop_engine",
    "tarball_path",
]
