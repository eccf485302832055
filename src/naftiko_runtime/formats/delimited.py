"""``outputRawFormat`` csv, tsv and psv: the first row names the columns, each further row is an object.

Read with the standard library's ``csv`` module (RFC 4180 quoting, strict mode; a field is at most
csv's 128 KiB). Every value stays a string, as the reference engine keeps them; a short row leaves its
missing columns out, a row longer than the header is an error (there is no name for the extra value).
Blank lines are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from typing import Any

from .errors import PayloadError
from .text import text


def _reader(delimiter: str, name: str) -> Callable[[bytes, str, Mapping[str, Any]], Any]:
    def decode(body: bytes, content_type: str, options: Mapping[str, Any]) -> Any:
        source = io.StringIO(text(body, content_type, name), newline="")
        reader = csv.reader(source, delimiter=delimiter, strict=True)
        rows: list[dict[str, str]] = []
        header: list[str] | None = None
        try:
            for record in reader:
                if not record or record == [""]:
                    continue
                if header is None:
                    header = [h.strip() for h in record]
                    continue
                if len(record) > len(header):
                    raise PayloadError(
                        f"{name.upper()} whose line {reader.line_num} has {len(record)} fields, "
                        f"the header {len(header)}"
                    )
                rows.append(dict(zip(header, record, strict=False)))
        except csv.Error as exc:
            raise PayloadError(f"malformed {name.upper()} at line {reader.line_num} ({exc})") from None
        return rows

    return decode


decode_csv = _reader(",", "csv")
decode_tsv = _reader("\t", "tsv")
decode_psv = _reader("|", "psv")
