"""Files attached to a refused form, held for its resubmit: a parent on 3G does not send a KK scan twice.

Each is written under `<data>/staged/<user id>/` with a generated name (`documents.write_private`), which the
form carries back in a hidden field `staged_<kind>` (`name:file name`). Only the user who attached a file finds
it (the folder is theirs); a user holds only the files of the form last refused (one per document kind, each
within the upload limit); a held file is deleted once the registration that used it is committed, and every
held file after a day.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from ppdb.applicants.documents import write_private
from ppdb.authz import Principal

KEEP_SECONDS = 24 * 3600
SWEEP_SECONDS = 600
"""The sweep of old held files runs at most this often per worker (not on every refused form)."""
NAME = re.compile(r"[0-9a-f]{32}\.held")
FIELD_MAX = 200
"""A hidden field's value longer than this is not one this module wrote (a name and 120 characters of file name)."""
_swept: float | None = None


def _folder(data_path: Path, user: Principal) -> Path:
    return data_path / "staged" / str(user.id)


def _name(value: str) -> str | None:
    if len(value) > FIELD_MAX:
        return None
    name = value.partition(":")[0]
    return name if NAME.fullmatch(name) else None


def held(data_path: Path, user: Principal, fields: dict[str, str]) -> tuple[dict[str, tuple[str, bytes]], list[str]]:
    """The held files the fields name (kind -> `staged_<kind>`'s value): kind -> (file name, content), and the
    kinds whose file is no longer held (or never was this user's)."""
    found: dict[str, tuple[str, bytes]] = {}
    gone: list[str] = []
    for kind, value in fields.items():
        name = _name(value)
        try:
            if name is None:
                raise FileNotFoundError(value)
            found[kind] = (value.partition(":")[2], (_folder(data_path, user) / name).read_bytes())
        except FileNotFoundError:
            gone.append(kind)
    return found, gone


def hold(data_path: Path, user: Principal, files: dict[str, tuple[str, bytes]], kept: dict[str, str]) -> dict[str, str]:
    """`files` (kind -> (file name, content)) held beside the `kept` ones (kind -> field value), every other
    file of the user's deleted; kind -> the hidden field's value for each."""
    _sweep(data_path / "staged")
    folder = _folder(data_path, user)
    fields = kept | {
        kind: f"{write_private(folder, content, 'held')}:{filename[:120]}"
        for kind, (filename, content) in files.items()
    }
    wanted = {_name(v) for v in fields.values()}
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name not in wanted:
                path.unlink(missing_ok=True)
    return fields


def release(data_path: Path, user: Principal, fields: dict[str, str]) -> None:
    """Held files deleted, by their fields' values (stored with the registration now)."""
    for value in fields.values():
        if name := _name(value):
            (_folder(data_path, user) / name).unlink(missing_ok=True)


def _sweep(root: Path) -> None:
    """Held files older than a day deleted (a form never sent again), and the folders they leave empty; at most
    once in `SWEEP_SECONDS` per worker."""
    global _swept
    now = time.monotonic()
    if (_swept is not None and now - _swept < SWEEP_SECONDS) or not root.is_dir():
        return
    _swept = now
    old = time.time() - KEEP_SECONDS
    for folder in root.iterdir():
        for path in folder.iterdir():
            try:
                if path.stat().st_mtime < old:
                    path.unlink()
            except FileNotFoundError:
                continue
        try:
            folder.rmdir()  # only when empty
        except OSError:
            continue
