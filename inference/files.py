"""Files in and out, safely: writes that never follow a symlink and appear whole or not at all, and
text reads with limits (size, JSON nesting, CSV field size) that end in a `ValueError` naming the
file, never a traceback or a machine out of memory.

- `write_atomically(path, data)`: a fresh temporary file beside `path` (created exclusively, so a
  symlink planted there is never written through), then renamed onto `path` (a rename replaces a
  symlink at `path` itself, never its target).
- `write_all_or_none({path: data})`: several outputs of one input; when any fails, none is left.
- `prepare_folder(path)`: the output folder made (or found) and checked writable, or an `OSError`
  with a sentence the commands print as it is.
- `read_text(path, limit, what)`, `parse_json(text, label)`, `csv_rows(text, label)`: the readers'
  first steps, bounded.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

# Nested JSON deeper than this is refused before Python's recursion limit is near.
MAX_JSON_DEPTH = 64
# Python's csv module refuses fields longer than this (its default limit, 128 KiB).
MAX_CSV_FIELD = csv.field_size_limit()
PARTIAL_SUFFIX = ".partial"


def _temporary_beside(path: Path) -> tuple[int, str]:
    """An open descriptor and name of a new file in `path`'s folder (O_EXCL: never an existing name)."""
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=PARTIAL_SUFFIX, dir=path.parent)


def _write_temporary(path: Path, data) -> str:
    descriptor, name = _temporary_beside(path)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    except BaseException:
        os.unlink(name)
        raise
    return name


def write_atomically(path, data) -> None:
    """Write `data` (str as UTF-8, or bytes) to `path`: afterwards the file is as before or complete.

    Never writes through a symlink: a link at `path` is replaced by the file, its target untouched.
    """
    path = Path(path)
    name = _write_temporary(path, data)
    try:
        os.replace(name, path)
    except BaseException:
        os.unlink(name)
        raise


def write_all_or_none(outputs: dict) -> None:
    """Write every `{path: data}`; if any write fails, none of the paths is left (the error is raised)."""
    written: list[str] = []
    placed: list[Path] = []
    try:
        for path, data in outputs.items():
            written.append(_write_temporary(Path(path), data))
        for (path, _), name in zip(outputs.items(), written):
            os.replace(name, path)
            placed.append(Path(path))
    except BaseException:
        for name in written:
            if os.path.lexists(name):
                os.unlink(name)
        for path in placed:
            path.unlink(missing_ok=True)
        raise


def prepare_folder(path) -> Path:
    """`path` made if needed and checked to be a writable folder; OSError with a clear message if not."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OSError(f"the output folder {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot make the output folder {path}: {exc.strerror or exc}") from exc
    try:
        descriptor, name = _temporary_beside(path / "probe")
        os.close(descriptor)
        os.unlink(name)
    except OSError as exc:
        raise OSError(f"cannot write in the output folder {path}: {exc.strerror or exc}") from exc
    return path


def read_text(path, limit: int, what: str) -> str:
    """The UTF-8 text of `path` (a BOM is dropped); ValueError when unreadable or over `limit` bytes."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise ValueError(f"{path}: the {what} is {size / 2**20:.1f} MiB, more than the "
                             f"{limit / 2**20:.0f} MiB a {what} may be")
        with open(path, "rb") as handle:
            raw = handle.read(limit + 1)
        return raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the {what} ({exc})") from exc


def json_depth(text: str) -> int:
    """The deepest nesting of brackets in JSON `text` (outside strings), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(text: str, label: str):
    """`json.loads(text)`; ValueError naming `label` for invalid JSON or nesting over `MAX_JSON_DEPTH`."""
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"{label} is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"{label}: not valid JSON ({exc})") from exc


def csv_rows(text: str, label: str) -> list[list[str]]:
    """The rows of CSV `text`; ValueError naming `label` for malformed CSV or a field over `MAX_CSV_FIELD`."""
    try:
        return list(csv.reader(text.splitlines()))
    except csv.Error as exc:
        raise ValueError(f"{label}: not a readable CSV ({exc}; a field may be at most "
                         f"{MAX_CSV_FIELD // 1024} KiB)") from exc
