"""Audit log responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditOut(msgspec.Struct, kw_only=True):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
