"""Every model, imported once so metadata (and Alembic) sees the whole schema."""

from ppdb.accounts.models import AuthSession, LoginAttempt, PasswordReset, User
from ppdb.applicants.models import Applicant, Application, Choice, Document, IdempotentResponse
from ppdb.audit.models import AuditEntry
from ppdb.complaints.models import Complaint, Correction, Event, Evidence
from ppdb.db.base import Base
from ppdb.notifications.models import Notification
from ppdb.regions.models import Kelurahan, Period, Region
from ppdb.reregistration.models import Reregistration
from ppdb.results.models import Publication, PublicationEntry
from ppdb.schools.models import PeriodSchool, School, ZoneEntry
from ppdb.scores.models import Graduate, SchoolIndex, TestResult
from ppdb.selection.models import Placement, ProgramOutcome, SelectionRun

__all__ = [
    "Applicant",
    "Application",
    "AuditEntry",
    "AuthSession",
    "Base",
    "Choice",
    "Complaint",
    "Correction",
    "Document",
    "Event",
    "Evidence",
    "Graduate",
    "IdempotentResponse",
    "Kelurahan",
    "LoginAttempt",
    "Notification",
    "PasswordReset",
    "Period",
    "PeriodSchool",
    "Placement",
    "ProgramOutcome",
    "Publication",
    "PublicationEntry",
    "Region",
    "Reregistration",
    "School",
    "SchoolIndex",
    "SelectionRun",
    "TestResult",
    "User",
    "ZoneEntry",
]
