"""CSV tables inside an imported ZIP (Django-free): `attribution.csv` as the dataset export
writes it, or any CSV of (image URL or file name, label), with or without a header row.

A row names a file in the same ZIP (its path below the label folders' level, "cats/a.jpg") or
an http(s) URL to download; its other columns are the image's attribution."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

__all__ = ["TableRow", "parse_table"]

# Header spellings (lowercased, blanks collapsed) -> our column.
_HEADERS = {
    "file": "file", "filename": "file", "file name": "file", "path": "file", "image": "file",
    "url": "file", "image url or file name": "file", "name": "file",
    "label": "label", "class": "label", "category": "label",
    "source": "source", "source url": "source", "page": "source", "landing url": "source",
    "creator": "creator", "author": "creator", "artist": "creator",
    "licence": "licence", "license": "licence",
    "licence url": "licence_url", "license url": "licence_url",
    "image url": "image_url", "provider": "provider", "attribution": "attribution",
    "sha256": "sha256",
}  # fmt: skip
MAX_ROWS = 20_000
_CELL_MAX = 2000
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class TableRow:
    table: str  # the CSV's name in the ZIP
    number: int  # line number in the CSV, the header being line 1
    file: str  # a path in the ZIP, or an http(s) URL
    label: str  # "" when the row gives none
    provenance: dict[str, str] = field(default_factory=dict)  # Image provenance fields
    folder: str = ""  # the plan's label folder this row's label counts under (set by the import)
    sha256: str = ""  # the hash the image had where it was exported from (a duplicate check)

    @property
    def is_url(self) -> bool:
        return self.file.lower().startswith(("http://", "https://"))

    @property
    def name(self) -> str:
        return f"{self.table} row {self.number}: {self.file[:200]}"


def _url(value: str) -> str:
    return value if value.lower().startswith(("http://", "https://")) else ""


def _provenance(cells: dict[str, str], file: str) -> dict[str, str]:
    source = _url(cells.get("source", ""))
    image_url = _url(cells.get("image_url", "")) or _url(file)
    out = {
        "landing_url": source,
        "source_url": image_url,
        "creator": cells.get("creator", ""),
        "license": cells.get("licence", "")[:50],
        "license_url": _url(cells.get("licence_url", "")),
        "provider": cells.get("provider", "")[:30],
        "attribution": cells.get("attribution", ""),
    }
    return {k: v for k, v in out.items() if v}


def parse_table(name: str, data: bytes) -> tuple[list[TableRow], list[tuple[str, str]]]:
    """The rows of one CSV, and (what, reason) for each row or table that can't be used."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [(name, "the table is not UTF-8 text")]
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        return [], [(name, f"the table is not valid CSV ({exc})")]
    if not lines:
        return [], []
    head = [" ".join(cell.lower().split()) for cell in lines[0]]
    columns = [_HEADERS.get(cell, "") for cell in head]
    if "file" in columns:
        start = 1
    elif len(lines[0]) >= 2:  # no header: (image URL or file name, label)
        columns, start = ["file", "label"], 0
    else:
        return [], [(name, "the table needs a file (or URL) column and a label column")]
    rows: list[TableRow] = []
    problems: list[tuple[str, str]] = []
    for number, cells in enumerate(lines[start:], start=start + 1):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append((name, f"only the first {MAX_ROWS} rows are read"))
            break
        values: dict[str, str] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column and column not in values:
                values[column] = cell.strip()[:_CELL_MAX]
        file = values.get("file", "").replace("\\", "/").strip("/")
        what = f"{name} row {number}"
        if not file:
            problems.append((what, "no file name or image URL"))
            continue
        row = TableRow(
            table=name,
            number=number,
            file=file,
            label=" ".join(values.get("label", "").split()),
            provenance=_provenance(values, file),
            sha256=sha if _SHA256.fullmatch(sha := values.get("sha256", "").lower()) else "",
        )
        if row.is_url and not row.label:
            problems.append((row.name, "no label for this URL"))
            continue
        if not row.is_url and ".." in file.split("/"):
            problems.append((row.name, "unsafe path (..)"))
            continue
        rows.append(row)
    return rows, problems
