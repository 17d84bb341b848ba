"""Rows → API: the one mapping of a stored (or just written) registration to its answer.

`to_out` reads attributes by name, so an ORM application and the rows the write path has just stored
(`written`) answer alike; `current_data` is that answer as a form, for a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any

import msgspec

from ppdb.applicants import schemas
from ppdb.applicants.models import Application, ApplicationStatus, DocumentStatus
from ppdb.applicants.validation import PeriodContext, Plan, SchoolInfo
from ppdb.applicants.write import APPLICANT_FIELDS, NewRegistration

Findings = Mapping[tuple[int, str], Any]
"""(school id, program code) -> a school's `ProgramFinding` on the child."""


def to_out(
    application: Any,
    applicant: Any,
    choices: Iterable[Any],
    documents: Iterable[Any],
    schools: Mapping[int, Any],
    findings: Findings | None = None,
) -> schemas.ApplicationOut:
    """The answer for an application (its row and its applicant's, choices and documents; `schools` by id;
    `findings`: the schools' findings on the child's SMK programs)."""
    findings = findings or {}
    return schemas.ApplicationOut(
        registration_number=application.registration_number,
        period_id=application.period_id,
        status=application.status.value,
        status_reason=application.status_reason,
        path=application.path,
        category=application.category,
        kk_exception=application.kk_exception,
        submitted_at=application.submitted_at,
        updated_at=application.updated_at,
        applicant=applicant if isinstance(applicant, schemas.ApplicantOut) else applicant_out(applicant),
        choices=[
            schemas.ChoiceOut(
                rank=c.rank,
                npsn=schools[c.school_id].npsn,
                school_name=schools[c.school_id].name,
                distance_m=float(c.distance_m),
                in_zone=c.in_zone,
                zone_priority=c.zone_priority,
                program=c.program.code if c.program else None,
                program_name=c.program.name if c.program else None,
                program_unmet=finding.unmet if finding else None,
                program_reason=finding.reason if finding else None,
            )
            for c in choices
            for finding in [findings.get((c.school_id, c.program.code)) if c.program else None]
        ],
        documents=[
            schemas.DocumentOut(
                kind=d.kind,
                status=d.status.value,
                content_type=d.content_type,
                size_bytes=d.size_bytes,
                reason=d.reason,
            )
            for d in sorted(documents, key=lambda d: d.kind)
        ],
    )


def applicant_out(applicant: Any) -> schemas.ApplicantOut:
    return schemas.ApplicantOut(
        **{name: getattr(applicant, name) for name in APPLICANT_FIELDS},
        coordinate_locked=applicant.coordinate_verified_at is not None,
    )


def of_application(
    application: Application, schools: Mapping[int, Any], findings: Findings | None = None
) -> schemas.ApplicationOut:
    """`to_out` for an application loaded with its applicant, choices and documents. A withdrawn one shows the
    child's data as it was when it was withdrawn, never what a later registration of the child wrote."""
    applicant: Any = application.applicant
    if application.status is ApplicationStatus.WITHDRAWN and application.withdrawn_applicant is not None:
        applicant = msgspec.convert(application.withdrawn_applicant, schemas.ApplicantOut)
    return to_out(application, applicant, application.choices, application.documents, schools, findings)


def written(new: NewRegistration, period_id: int, plan: Plan, **database: Any) -> schemas.ApplicationOut:
    """`to_out` for a registration as the write path stores it (`database`: the columns the database sets)."""
    columns = {**new.application, "period_id": period_id, "status": ApplicationStatus.SUBMITTED, "status_reason": None}
    application = SimpleNamespace(**{**columns, **database})
    applicant = SimpleNamespace(**new.applicant, coordinate_verified_at=new.coordinate_verified_at)
    declared = DocumentStatus.DECLARED
    return to_out(
        application,
        applicant,
        (SimpleNamespace(**c, program=chosen.program) for c, chosen in zip(new.choices, plan.choices, strict=True)),
        (SimpleNamespace(kind=k, status=declared, content_type=None, size_bytes=None, reason=None) for k in new.kinds),
        {c.school.id: c.school for c in plan.choices},
    )


def schools_by_id(ctx: PeriodContext) -> dict[int, SchoolInfo]:
    return {s.id: s for s in ctx.schools.values()}


def current_data(application: Application, ctx: PeriodContext) -> schemas.ApplicationCreate:
    """The application as the form that would register it as it is now (a change merges a patch into it)."""
    out = of_application(application, schools_by_id(ctx))
    applicant = {name: getattr(out.applicant, name) for name in APPLICANT_FIELDS if name != "in_region"}
    return schemas.ApplicationCreate(
        **applicant,
        kk_exception=out.kk_exception,  # type: ignore[arg-type]  # stored from a checked form
        path=out.path,
        category=out.category,
        choices=[f"{c.npsn}/{c.program}" if c.program else c.npsn for c in out.choices],
        documents=[d.kind for d in out.documents],
    )
