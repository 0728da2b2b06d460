"""Just enough YAML, standard library only: read our own k8s manifests, write Kubernetes objects.

`load_all` understands what k8s/ uses: `---` documents, block mappings and sequences,
`# comments`, plain/quoted scalars, `[a, b]` and `{a: b}` flow collections (flat), and `|`/`|-` literal
blocks. It is no general YAML parser; tests/devtools check it against PyYAML on the files
it reads. `dump_all` writes JSON-style quoted strings (valid YAML) and literal blocks.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
_INT = re.compile(r"^[-+]?[0-9]+$")
# Strings written without quotes: start with a letter, no YAML 1.1 booleans or nulls.
_PLAIN_VALUE = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}


def load_all(text: str) -> list[Any]:
    """The non-empty documents of a multi-document stream."""
    docs: list[Any] = []
    chunk: list[str] = []
    for line in [*text.splitlines(), "---"]:
        if line.rstrip() == "---":
            value = _Parser(chunk).parse()
            if value is not None:
                docs.append(value)
            chunk = []
        else:
            chunk.append(line)
    return docs


def _strip_comment(text: str) -> str:
    """`text` without a trailing ` # comment` that is outside quotes."""
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1].strip()
        return [_scalar(part) for part in _split_flow(inner)] if inner else []
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1].strip()
        pairs = [part.partition(":") for part in _split_flow(inner)] if inner else []
        return {_scalar(k): _scalar(v) for k, _, v in pairs}
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("", "~", "null"):
        return None
    if text in ("true", "false"):
        return text == "true"
    if _INT.match(text):
        return int(text)
    return text


def _split_flow(inner: str) -> list[str]:
    parts, quote, current = [], "", ""
    for ch in inner:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            parts.append(current)
            current = ""
            continue
        current += ch
    return [*parts, current]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Parser:
    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self.i = 0

    def _next(self) -> int | None:
        """Index of the next line with content (skipping blanks and comments)."""
        while self.i < len(self.lines):
            stripped = self.lines[self.i].strip()
            if stripped and not stripped.startswith("#"):
                return self.i
            self.i += 1
        return None

    def parse(self) -> Any:
        if self._next() is None:
            return None
        return self._block(_indent(self.lines[self.i]))

    def _block(self, indent: int) -> Any:
        body = self.lines[self.i].lstrip(" ")
        if body == "-" or body.startswith("- "):
            return self._sequence(indent)
        return self._mapping(indent)

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while self._next() is not None:
            line = self.lines[self.i]
            body = line.lstrip(" ")
            if _indent(line) != indent or not (body == "-" or body.startswith("- ")):
                break
            rest = body[1:].lstrip(" ")
            if not rest:
                self.i += 1
                items.append(self._nested(indent))
                continue
            # "- key: value" opens a mapping whose keys sit where "key" starts.
            column = indent + len(body) - len(rest)
            self.lines[self.i] = " " * column + rest
            if ": " in _strip_comment(rest) or _strip_comment(rest).endswith(":"):
                items.append(self._mapping(column))
            else:
                items.append(_scalar(_strip_comment(rest)))
                self.i += 1
        return items

    def _nested(self, parent: int) -> Any:
        if self._next() is None:
            return None
        line = self.lines[self.i]
        if _indent(line) > parent or (_indent(line) == parent and line.lstrip(" ").startswith("- ")):
            return self._block(_indent(line))
        return None

    def _mapping(self, indent: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while self._next() is not None:
            line = self.lines[self.i]
            if _indent(line) != indent or line.lstrip(" ").startswith("- "):
                break
            text = _strip_comment(line.strip())
            key, sep, rest = text.partition(": ") if ": " in text else text.partition(":")
            if not sep:
                raise ValueError(f"not a mapping entry: {line!r}")
            key = _scalar(key) if key[:1] in "'\"" else key
            rest = rest.strip()
            self.i += 1
            if rest.startswith(("|", ">")):
                out[key] = self._literal(indent, rest)
            elif rest:
                out[key] = _scalar(rest)
            else:
                out[key] = self._nested(indent)
        return out

    def _literal(self, parent: int, header: str) -> str:
        if header[0] == ">" or header[1:] not in ("", "-"):
            raise ValueError(f"unsupported block scalar {header!r}")
        block: list[str] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip() and _indent(line) <= parent:
                break
            block.append(line)
            self.i += 1
        while block and not block[-1].strip():
            block.pop()
        width = min((_indent(x) for x in block if x.strip()), default=0)
        text = "\n".join(x[width:] for x in block)
        return text if header == "|-" else text + "\n"


# ---- dump ------------------------------------------------------------------------------------


def _key(key: str) -> str:
    plain = _PLAIN_KEY.match(key) and key.lower() not in _RESERVED and not _INT.match(key)
    return key if plain else json.dumps(key)


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN_VALUE.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def _literal_ok(text: str) -> bool:
    lines = text.rstrip("\n").split("\n")
    return (
        "\n" in text.rstrip("\n")
        and not text.endswith("\n\n")
        and not text[:1].isspace()
        and all(line == line.rstrip() for line in lines)
        and all(ch.isprintable() for line in lines for ch in line)
    )


def _dump(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{_key(key)}:")
                out += _dump(item, indent + 2 if isinstance(item, dict) else indent)
            elif isinstance(item, str) and _literal_ok(item):
                out.append(f"{pad}{_key(key)}: |{'' if item.endswith(chr(10)) else '-'}")
                out += [f"{pad}  {line}" if line else "" for line in item.rstrip("\n").split("\n")]
            else:
                empty = "{}" if isinstance(item, dict) else "[]" if isinstance(item, list) else None
                out.append(f"{pad}{_key(key)}: {empty or _value(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                inner = _dump(item, indent + 2)
                out.append(f"{pad}- {inner[0].lstrip(' ')}")
                out += inner[1:]
            else:
                out.append(f"{pad}- {_dump_scalar_item(item)}")
    else:
        out.append(pad + _value(value))
    return out


def _dump_scalar_item(item: Any) -> str:
    if isinstance(item, dict):
        return "{}"
    if isinstance(item, list):
        return "[]"
    return _value(item)


def dump_all(docs: list[dict[str, Any]]) -> str:
    """Documents separated by `---`, loadable by any YAML parser (and kubectl)."""
    return "".join("---\n" + "\n".join(_dump(doc, 0)) + "\n" for doc in docs)
