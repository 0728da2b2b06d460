"""Relative links in the repository's Markdown resolve: the file exists and its `#anchor` is a
heading of the target (GitHub's slug rules) or an explicit `<a id=...>`/`name=`.

External links (any `scheme:`) are not fetched; anchors into files that are not Markdown
(`file.py#L10`) are not checked. Links inside code (fenced blocks, `inline spans`) are text.

    python -m devtools.linkcheck      # list the broken links, exit 1 when there is one
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

REPO_ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {"node_modules", "__pycache__", "demo-output"}

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
# [text](target) and ![alt](target), an optional "title" after the target; <target> form too.
INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=[\"']([^\"']+)[\"']", re.IGNORECASE)
HTML_ANCHOR = re.compile(r"<[a-z]+\b[^>]*?\b(?:id|name)=[\"']([^\"']+)[\"']", re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def outside_fences(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line outside fenced code blocks."""
    fence = ""
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = ""
        elif match:
            fence = match.group(1)
        else:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: the rendered text (no markup) lower-cased, every
    character that is not a letter, digit, space, `-` or `_` dropped, spaces → `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags render as nothing
    # Code spans keep their text as it is; outside them `*` and `_emphasis_` marks vanish.
    text = "".join(
        part.strip("`") if part.startswith("`") else re.sub(r"\*|(?<!\w)_+|_+(?!\w)", "", part)
        for part in re.split(r"(`+[^`]*`+)", text)
    )
    text = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every fragment a link into this document can name: heading slugs (repeats get -1, -2,
    ...) and explicit `id`/`name` attributes."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in text.splitlines():
        found.update(HTML_ANCHOR.findall(line))
    for _, line in outside_fences(text):
        heading = HEADING.match(line)
        if heading:
            base = slug(heading.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line number, target) of every link and image outside code."""
    for number, line in outside_fences(text):
        prose = INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)
        for pattern in (INLINE_LINK, REFERENCE, HTML_LINK):
            for target in pattern.findall(prose):
                yield number, target.strip("<>")


def problems_in(path: Path, root: Path, known: dict[Path, set[str]] | None = None) -> list[str]:
    """`file:line: target: why` for each broken relative link of one Markdown file (`known`:
    the anchors of the documents read so far, shared between calls)."""
    known = {} if known is None else known
    out = []
    for number, target in links(path.read_text(encoding="utf-8")):
        if SCHEME.match(target):
            continue
        file_part, _, fragment = target.partition("#")
        file_part, fragment = unquote(file_part), unquote(fragment)
        if file_part.startswith("/"):
            resolved = root / file_part.lstrip("/")
        else:
            resolved = path.parent / file_part if file_part else path
        where = f"{path.relative_to(root)}:{number}: {target}"
        if not resolved.exists():
            out.append(f"{where}: no such file")
        elif fragment and resolved.suffix.lower() == ".md":
            target_path = resolved.resolve()
            if target_path not in known:
                known[target_path] = anchors(target_path.read_text(encoding="utf-8"))
            if fragment not in known[target_path]:
                out.append(f"{where}: no anchor #{fragment} in {os.path.relpath(target_path, root)}")
    return out


def markdown_files(root: Path) -> list[Path]:
    """Every *.md under root, outside hidden directories (.venv, .git, caches) and build output."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
        found += [Path(folder) / f for f in sorted(files) if f.lower().endswith(".md")]
    return found


def check(root: Path = REPO_ROOT) -> list[str]:
    known: dict[Path, set[str]] = {}
    return [problem for path in markdown_files(root) for problem in problems_in(path, root, known)]


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
