"""devtools.linkcheck: relative links and anchors in Markdown, on fixtures that break them, and
over the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import linkcheck


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


TARGET = """# Guide

## Install on an existing cluster

## Documents (index `ES_INDEX`, default `tweets-sentiment`)

## Step 1: *quick* start

## Repeated

## Repeated

<a id="custom-anchor"></a>
<a name="old-name"></a>

```bash
# not a heading
```
"""


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Install on an existing cluster", "install-on-an-existing-cluster"),
        (
            "Documents (index `ES_INDEX`, default `tweets-sentiment`)",
            "documents-index-es_index-default-tweets-sentiment",
        ),
        ("Producer (`:9108/metrics`; `/healthz` liveness)", "producer-9108metrics-healthz-liveness"),
        ("Step 1: *quick* start", "step-1-quick-start"),
        (
            "Cost: what the job burns at the rate users run it",
            "cost-what-the-job-burns-at-the-rate-users-run-it",
        ),
        (
            "Dead letters (topic `KAFKA_DLQ_TOPIC`, default `posts.deadletter`)",
            "dead-letters-topic-kafka_dlq_topic-default-postsdeadletter",
        ),
        ("`__init__.py` and _why_", "__init__py-and-why"),
        ("See [the guide](guide.md)", "see-the-guide"),
        ("Ümlaut – dash", "ümlaut--dash"),
    ],
)
def test_slug_follows_github(heading: str, anchor: str) -> None:
    assert linkcheck.slug(heading) == anchor


def test_anchors_are_headings_repeats_and_explicit_ids_not_code() -> None:
    found = linkcheck.anchors(TARGET)
    assert {"guide", "repeated", "repeated-1", "custom-anchor", "old-name", "step-1-quick-start"} <= found
    assert "not-a-heading" not in found


def test_good_links_pass(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "docs/guide.md": TARGET,
            "docs/page.md": "[g](guide.md#install-on-an-existing-cluster) [again](guide.md#repeated-1)\n"
            "[id](guide.md#custom-anchor) ![img](../img/x.png) [dir](../img) [self](#page)\n"
            "[code](../src/a.py#L10) [web](https://example.com/missing.md#nope) [mail](mailto:a@b.c)\n"
            '[abs](/docs/guide.md#guide "title") [ref]: guide.md#old-name\n'
            '<a href="guide.md#guide">html</a> [space](my%20file.md)\n\n# Page\n',
            "docs/my file.md": "# x\n",
            "img/x.png": "",
            "src/a.py": "",
        },
    )
    assert linkcheck.check(root) == []


@pytest.mark.parametrize(
    ("link", "why"),
    [
        ("[a](missing.md)", "no such file"),
        ("[a](../docs/guide.md#no-such-heading)", "no anchor #no-such-heading"),
        ("[a](guide.md#Install-On-An-Existing-Cluster)", "no anchor"),
        ("[a](guide.md#not-a-heading)", "no anchor"),
        ("[a](#nothing-here)", "no anchor #nothing-here"),
        ("![a](pic.png)", "no such file"),
        ("[ref]: gone.md", "no such file"),
        ('<a href="gone.md">x</a>', "no such file"),
        ("[a](/docs/gone.md)", "no such file"),
    ],
)
def test_broken_links_are_reported_with_file_and_line(tmp_path: Path, link: str, why: str) -> None:
    root = write(tmp_path, {"docs/guide.md": TARGET, "docs/page.md": f"# Page\n\ntext\n{link}\n"})
    (problem,) = linkcheck.check(root)
    assert problem.startswith("docs/page.md:4: ")
    assert why in problem


def test_links_in_code_are_text(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {"a.md": "`[x](missing.md)`\n\n```md\n[x](missing.md)\n```\n\n~~~\n[y](gone.md)\n~~~\n"},
    )
    assert linkcheck.check(root) == []


def test_hidden_and_build_directories_are_skipped(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {".venv/lib/x.md": "[a](missing.md)", "node_modules/y.md": "[a](missing.md)", "z.md": "# z\n"},
    )
    assert [p.name for p in linkcheck.markdown_files(root)] == ["z.md"]
    assert linkcheck.check(root) == []


def test_every_markdown_link_in_the_repository_resolves() -> None:
    files = {str(p.relative_to(linkcheck.REPO_ROOT)) for p in linkcheck.markdown_files(linkcheck.REPO_ROOT)}
    assert {"README.md", "charts/tweet-sentiment/README.md", "docs/configuration.md"} <= files
    problems = linkcheck.check()
    assert not problems, "\n".join(problems)
