"""``outputRawFormat: html``: the page's tables as ``{"tables": [[{header: cell, ...}, ...], ...]}``.

``outputSchema`` is a CSS selector: the tables it selects, or the tables inside what it selects (all the
page's tables without one). Headers are the first header row's ``th`` cells; rows holding a ``th`` are
header rows and skipped; a short row fills its missing cells with "". Cell text has its whitespace
collapsed. Parsed with selectolax (the Lexbor HTML5 parser, in C): an HTML5-conformant tree for the
tag soup real pages are, CSS selectors built in, and no Python recursion on deeply nested markup.
Its tree building slows down quadratically with the nesting of block elements, so a page nesting them
deeper than :data:`MAX_BLOCK_DEPTH` (the bound browsers put on parser-built trees) is refused first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import PayloadError, SchemaFileError
from .text import text

MAX_BLOCK_DEPTH = 512
_BLOCK_TAG = re.compile(
    rb"<(/?)(?:div|section|article|aside|blockquote|center|details|dialog|dir|dl|fieldset|figcaption|"
    rb"figure|footer|header|hgroup|main|menu|nav|ol|ul|search|summary|form|h[1-6]|pre|listing|address|"
    rb"table)[\s/>]",
    re.IGNORECASE,
)


def _check_depth(body: bytes) -> None:
    depth = 0
    for match in _BLOCK_TAG.finditer(body):
        depth = max(depth - 1, 0) if match.group(1) else depth + 1
        if depth > MAX_BLOCK_DEPTH:
            raise PayloadError(f"HTML nesting block elements deeper than {MAX_BLOCK_DEPTH}, which is refused")


def check_selector(selector: str) -> None:
    """Raise :class:`SchemaFileError` when ``selector`` is not a CSS selector (checked at load)."""
    from selectolax.lexbor import LexborHTMLParser

    try:
        LexborHTMLParser("<table></table>").css(selector)
    except Exception as exc:  # selectolax reports a bad selector with a bare exception type
        raise SchemaFileError(f"'{selector}' is not a CSS selector ({exc})") from None


def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
    from selectolax.lexbor import LexborHTMLParser, LexborNode

    source = text(body, content_type, "html")
    _check_depth(body)
    try:
        tree = LexborHTMLParser(source)
    except Exception as exc:
        raise PayloadError(f"HTML that could not be parsed ({exc})") from None
    selector = options.get("outputSchema")
    tables: list[LexborNode] = []
    if selector:
        for node in tree.css(selector):
            tables.extend([node] if node.tag == "table" else node.css("table"))
    else:
        tables = tree.css("table")
    result = []
    for table in tables:
        headers = [_text(th) for th in table.css("thead tr:first-child th")] or [
            _text(th) for th in table.css("tr:first-child th")
        ]
        if not any(headers):
            continue
        rows = table.css("tbody tr") or table.css("tr")
        records = []
        for row in rows:
            if row.css_first("th") is not None:
                continue
            cells = [_text(td) for td in row.css("td")]
            if cells:
                records.append({h: cells[i] if i < len(cells) else "" for i, h in enumerate(headers)})
        result.append(records)
    return {"tables": result}


def _text(node: Any) -> str:
    return " ".join((node.text(deep=True) or "").split())
