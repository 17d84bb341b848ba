"""One re-registration decision per placed application and period (the database keeps it to one)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from ppdb.db.base import Base, pg_enum


class Decision(enum.StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    RELEASED = "released"
    """No decision by the deadline: the seat goes to the vacancy round."""


class Reregistration(Base):
    __tablename__ = "reregistrations"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publications.id"))
    program: Mapped[str] = mapped_column(String(100))
    """The seat the decision is about, e.g. 20670001:domisili."""
    decision: Mapped[Decision] = mapped_column(pg_enum(Decision, "reregistration_decision"))
    decided_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    decided_by: Mapped[str] = mapped_column(String(120))
