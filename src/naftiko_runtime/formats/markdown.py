"""``outputRawFormat: markdown``: ``{"frontMatter": {...}, "tables": [[row, ...]], "sections": [...]}``.

- ``frontMatter``: the YAML block between a leading ``---`` line and the next ``---`` line (``{}`` when
  there is none or it is not a mapping); aliases are refused.
- ``tables``: each GFM table at the top level, as rows keyed by its header cells.
- ``sections``: ``{heading, level, content}`` for each heading, ``content`` being the text of the
  blocks up to the next heading (tables excluded); ``outputSchema`` keeps only the sections whose
  heading starts with it.

Parsed with markdown-it-py (CommonMark with the GFM table rule; the same parser MyST and rich use),
whose ``maxNesting`` bounds how deep a hostile document can make it go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import PayloadError
from .text import load_yaml, text

_FENCE = "---\n"


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    from markdown_it import MarkdownIt

    source = text(body, content_type, "markdown").replace("\r\n", "\n")
    front: Any = {}
    if source.startswith(_FENCE):
        end = source.find("\n---\n", len(_FENCE) - 1)
        if end > -1:
            block = source[len(_FENCE) : end].strip()
            source = source[end + 5 :]
            if block:
                try:
                    parsed = load_yaml(block)
                except PayloadError as exc:
                    raise PayloadError(f"markdown whose front matter is {exc}") from None
                front = parsed if isinstance(parsed, dict) else {}
    tokens = MarkdownIt("commonmark", {"maxNesting": 20}).enable("table").parse(source)
    tables: list[list[dict[str, str]]] = []
    sections: list[dict[str, Any]] = []
    heading: tuple[str, int] | None = None
    content: list[str] = []
    prefix = options.get("outputSchema") or ""

    def close() -> None:
        if heading is not None and heading[0].startswith(prefix):
            sections.append({"heading": heading[0], "level": heading[1], "content": "\n".join(content)})

    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.level == 0 and token.type == "heading_open":
            close()
            heading, content = (_inline(tokens[i + 1]), int(token.tag[1:])), []
            i += 3
            continue
        if token.level == 0 and token.type == "table_open":
            end = _closing(tokens, i)
            table = _table(tokens[i:end])
            if table is not None:
                tables.append(table)
            i = end + 1
            continue
        if token.level == 0 and token.nesting == 1:
            end = _closing(tokens, i)
            if heading is not None:
                words = " ".join(_inline(t) for t in tokens[i:end] if t.type == "inline").strip()
                if words:
                    content.append(words)
            i = end + 1
            continue
        i += 1  # code blocks carry no section text, as in the reference engine
    close()
    return {"frontMatter": front, "tables": tables, "sections": sections}


def _closing(tokens: list[Any], start: int) -> int:
    depth = 0
    for j in range(start, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _inline(token: Any) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
    return "".join(parts).strip()


def _table(tokens: list[Any]) -> list[dict[str, str]] | None:
    headers: list[str] = []
    rows: list[list[str]] = []
    in_head = False
    for token in tokens:
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open" and not in_head:
            rows.append([])
        elif token.type == "inline":
            (headers if in_head else rows[-1]).append(_inline(token))
    if not any(headers):
        return None
    return [{h: row[i] if i < len(row) else "" for i, h in enumerate(headers)} for row in rows]
