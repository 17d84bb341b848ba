"""Held files (web/staging): only the holder's, a day at most, swept now and then rather than on every form."""

from __future__ import annotations

import os
import time

from ppdb.accounts.models import Role
from ppdb.authz import Principal
from ppdb.web import staging


def principal(user_id: int) -> Principal:
    return Principal(id=user_id, role=Role.PARENT, region_id=None, school_id=None, email=None)


def test_old_held_files_are_swept_and_strange_fields_are_not_followed(tmp_path, monkeypatch):
    parent, other = principal(1), principal(2)
    old = staging.hold(tmp_path, other, {"kk": ("kk.pdf", b"%PDF-1.4")}, {})
    path = next((tmp_path / "staged" / "2").iterdir())
    os.utime(path, (time.time() - staging.KEEP_SECONDS - 60,) * 2)
    monkeypatch.setattr(staging, "_swept", None)
    fields = staging.hold(tmp_path, parent, {"kk": ("kk-anak.pdf", b"%PDF-1.4 anak")}, {})
    assert not path.exists() and not (tmp_path / "staged" / "2").exists()  # swept, its empty folder too
    assert staging.held(tmp_path, other, old) == ({}, ["kk"])
    assert staging.held(tmp_path, parent, fields) == ({"kk": ("kk-anak.pdf", b"%PDF-1.4 anak")}, [])
    assert staging.held(tmp_path, other, fields) == ({}, ["kk"])  # another account's folder
    too_long = {"kk": fields["kk"] + "x" * staging.FIELD_MAX}
    assert staging.held(tmp_path, parent, too_long) == ({}, ["kk"])
    # within SWEEP_SECONDS no second sweep: an old file stays until the next one
    stale = next((tmp_path / "staged" / "1").iterdir())
    os.utime(stale, (time.time() - staging.KEEP_SECONDS - 60,) * 2)
    staging.hold(tmp_path, principal(3), {"kk": ("x.pdf", b"%PDF")}, {})
    assert stale.exists()
