"""Files attached to a refused form, held for its resubmit: a parent on 3G does not send a KK scan twice.

Each is written under `<data>/staged/<user id>/` with a generated name (`documents.write_private`), which the
form carries back in a hidden field `staged_<kind>` (`name:file name`). Only the user who attached a file finds
it (the folder is theirs), a held file is deleted once used, and every held file goes after a day.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from litestar.datastructures import FormMultiDict

from ppdb.applicants.documents import write_private
from ppdb.authz import Principal

KEEP_SECONDS = 24 * 3600
NAME = re.compile(r"[0-9a-f]{32}\.held")


def _folder(data_path: Path, user: Principal) -> Path:
    return data_path / "staged" / str(user.id)


def hold(data_path: Path, user: Principal, files: dict[str, tuple[str, bytes]]) -> dict[str, str]:
    """Each (file name, content) held; kind -> the hidden field's value."""
    _sweep(data_path / "staged")
    return {
        kind: f"{write_private(_folder(data_path, user), content, 'held')}:{filename[:120]}"
        for kind, (filename, content) in files.items()
    }


def held(data_path: Path, user: Principal, form: FormMultiDict, kinds: list[str]) -> dict[str, tuple[str, bytes]]:
    """The files the form says are held for this user, kind -> (file name, content); gone ones left out."""
    found: dict[str, tuple[str, bytes]] = {}
    for kind in kinds:
        value = form.get(f"staged_{kind}")
        name, _, filename = value.partition(":") if isinstance(value, str) else ("", "", "")
        if NAME.fullmatch(name):
            try:
                found[kind] = (filename, (_folder(data_path, user) / name).read_bytes())
            except FileNotFoundError:
                continue
    return found


def release(data_path: Path, user: Principal, fields: dict[str, str]) -> None:
    """Held files deleted (stored with the registration now, or replaced), by their fields' values."""
    for value in fields.values():
        name = value.partition(":")[0]
        if NAME.fullmatch(name):
            (_folder(data_path, user) / name).unlink(missing_ok=True)


def _sweep(root: Path) -> None:
    """Held files older than a day deleted (a form never sent again)."""
    if not root.is_dir():
        return
    old = time.time() - KEEP_SECONDS
    for path in root.glob("*/*"):
        try:
            if path.stat().st_mtime < old:
                path.unlink()
        except FileNotFoundError:
            continue
