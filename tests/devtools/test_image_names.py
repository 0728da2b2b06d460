"""The image references `make images` produces are the ones the chart and the Makefile name
(no Docker engine needed)."""

from __future__ import annotations

import re

import yaml

from devtools.images import PRODUCTS, chart_image_values, image_refs
from devtools.images.build import content_tag, context_files, copy_sources
from devtools.services.common import REPO_ROOT


def test_repositories_are_the_charts_and_the_makefiles() -> None:
    values = yaml.safe_load((REPO_ROOT / "charts/tweet-sentiment/values.yaml").read_text())
    assert PRODUCTS["producer"].repository == values["producer"]["image"]["repository"]
    assert PRODUCTS["spark-job"].repository == values["job"]["image"]["repository"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    for product in PRODUCTS.values():
        assert f"-t {product.repository}:$(IMAGE_TAG) -f {product.dockerfile} ." in makefile


def test_users_build_on_the_real_bases() -> None:
    """`make k8s-images` (what users run) never overrides the base."""
    k8s_images = re.search(r"^k8s-images:\n((?:\t.*\n)+)", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert k8s_images is not None
    assert "--build-arg" not in k8s_images.group(1)


def test_refs_are_content_tagged_and_helm_values_follow() -> None:
    refs = image_refs()
    values = chart_image_values()
    for component, chart_key in (("producer", "producer.image"), ("spark-job", "job.image")):
        repository, tag = refs[component].rsplit(":", 1)
        assert re.fullmatch(r"[0-9a-f]{12}", tag)
        assert tag == content_tag(PRODUCTS[component])
        assert values == values | {f"{chart_key}.repository": repository, f"{chart_key}.tag": tag}


def test_the_content_hash_covers_what_the_dockerfile_copies_and_nothing_ignored() -> None:
    files = {p.relative_to(REPO_ROOT).as_posix() for p in context_files(PRODUCTS["spark-job"])}
    assert "images/spark-job/main.py" in files
    assert "packages/common/pyproject.toml" in files
    assert any(f.startswith("images/spark-job/src/sentiment_job/") for f in files)
    assert not any("__pycache__" in f or f.endswith((".pyc", ".pyo")) or ".egg-info" in f for f in files)
    assert "images/producer/samples" in copy_sources(REPO_ROOT / "images/producer/Dockerfile")


def test_the_product_dockerfiles_trust_no_extra_ca() -> None:
    """Only the test stand-ins trust this machine's egress CA; the product recipes add none."""
    for product in PRODUCTS.values():
        text = (REPO_ROOT / product.dockerfile).read_text()
        for marker in (
            "SSL_CERT_FILE",
            "PIP_CERT",
            "REQUESTS_CA_BUNDLE",
            "ca-certificates.crt",
            "--trusted-host",
        ):
            assert marker not in text, (product.dockerfile, marker)
