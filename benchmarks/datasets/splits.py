"""Split files: ``<id>\t<train|valid|test>`` lines (``splits.tsv`` of the beat and structure layouts, and of the
synthesised sets). Tab- or space-separated, ``#`` comments and blank lines skipped, an optional ``id split`` header,
a UTF-8 byte-order mark tolerated. An id listed twice, a line without two fields or an unknown split is an error
naming the file and the line."""
from __future__ import annotations

from pathlib import Path

from .base import DatasetLayoutError

__all__ = ["SPLITS", "read_split_file"]

#: The split names a split file may use.
SPLITS = ("train", "valid", "test")


def read_split_file(path: str | Path) -> dict[str, str]:
    """``{id: split}`` of the split file ``path`` (module docstring); raises :class:`DatasetLayoutError`."""
    path = Path(path)
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetLayoutError(f"{path}: unreadable ({e})") from None
    first = True
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        fields = [f.strip() for f in (s.split("\t") if "\t" in s else s.split())]
        if len(fields) != 2:
            raise DatasetLayoutError(f"{path}, line {lineno}: {s!r}: expected '<id>\\t<train|valid|test>'")
        key, split = fields
        if first and (key.lower(), split.lower()) == ("id", "split"):
            first = False
            continue  # header
        first = False
        if split not in SPLITS:
            raise DatasetLayoutError(f"{path}, line {lineno}: split {split!r} is not one of train, valid, test")
        if key in out:
            raise DatasetLayoutError(f"{path}, line {lineno}: id {key!r} listed twice")
        out[key] = split
    return out
