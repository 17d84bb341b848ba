"""The one write path of new registrations (`write.REGISTER`), as the fast path, the transactional path and
bulk imports use it."""

from __future__ import annotations

from dataclasses import replace

import msgspec
from sqlalchemy import func, select, text

from ppdb.applicants import schemas, service, write
from ppdb.applicants.models import Applicant, Application, Choice, Document, IdempotentResponse
from ppdb.audit.models import AuditEntry
from tests.helpers import open_period, registration


async def prepared(admin, session, serials, **kwargs):
    period = await open_period(admin)
    ctx = await service.load_context(session, period["id"])
    forms = [msgspec.convert(registration(s), schemas.ApplicationCreate) for s in serials]
    number = write.new_registration_number
    news = [
        write.new_registration(f, service.validate(ctx, f), number=number(ctx.period), parent_id=None, **kwargs)
        for f in forms
    ]
    return ctx, news


async def count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_one_statement_stores_each_registration_with_its_choices_documents_audit_and_answer(admin, session):
    ctx, news = await prepared(admin, session, [1, 2], actor="uji")
    keyed = {"key": "k-2", "request_hash": "h" * 64, "body": '{"a": 1}'}
    news[1] = replace(news[1], extra={**news[1].extra, **keyed})
    rows = await write.run_in(session, ctx.period.id, news)
    numbers = [n.application["registration_number"] for n in news]
    assert sorted(r["registration_number"] for r in rows) == sorted(numbers)
    assert await count(session, Applicant) == 2 and await count(session, Application) == 2
    assert await count(session, Choice) == sum(len(n.choices) for n in news)
    assert await count(session, Document) == sum(len(n.kinds) for n in news)
    assert await count(session, AuditEntry, AuditEntry.action == "application.create") == 2
    stored = await session.get(IdempotentResponse, "k-2")
    assert stored is not None and stored.status_code == 201 and set(stored.body) == {"a", "submitted_at", "updated_at"}


async def test_guarded_by_the_period_version_it_stores_nothing_for_a_changed_period(admin, session):
    ctx, news = await prepared(admin, session, [1], actor="uji")
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert await write.run(driver, ctx.period.id, ctx.period.version + 1, news) == []
    assert await count(session, Application) == 0
    assert len(await write.run(driver, ctx.period.id, ctx.period.version, news)) == 1


async def test_a_known_child_is_refused_by_the_database_in_a_savepoint(admin, session):
    ctx, news = await prepared(admin, session, [1], actor="uji")
    await write.run_in(session, ctx.period.id, news)
    again = replace(news[0], application={**news[0].application, "registration_number": "2026-SMP-AGAIN001"})
    try:
        await write.run_in(session, ctx.period.id, [again])
    except Exception as err:
        assert getattr(err, "code", None) == "application_exists", err
    else:
        raise AssertionError("a second applicant row for one NIK was stored")
    assert (await session.execute(text("SELECT 1"))).scalar() == 1  # the transaction is still usable


async def test_bulk_import_keeps_each_time_of_submission_and_audits_once(admin, session):
    ctx, _ = await prepared(admin, session, [])
    forms = [msgspec.convert(registration(s), schemas.ApplicationCreate) for s in (1, 2, 3)]
    at = ctx.period.registration_opens_at
    assert await service.store_many(session, ctx, [(f, service.validate(ctx, f), at) for f in forms], actor="demo") == 3
    await session.flush()
    assert set(await session.scalars(select(Application.submitted_at))) == {at}
    assert await count(session, AuditEntry, AuditEntry.action == "application.create") == 0
    assert await count(session, AuditEntry, AuditEntry.action == "applications.bulk_create") == 1
