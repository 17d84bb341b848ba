"""What goes into the outbox, written in the same transaction as its event: one message per channel the parent's
account has, none for a registration without an account, and each event told once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ppdb.notifications import events
from ppdb.notifications.models import Notification
from ppdb.selection import provisional
from tests.conftest import PASSWORD, TEST_SECRET, logged_in, sign_up
from tests.helpers import open_period, registration

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,2,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,1,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""


async def told(session, kind: str | None = None) -> list[tuple[str, str, str]]:
    """(kind, channel, recipient) of every message in the outbox, oldest first."""
    query = select(Notification).order_by(Notification.id)
    rows = await session.scalars(query.where(Notification.kind == kind) if kind else query)
    return [(n.kind, n.channel.value, n.recipient) for n in rows]


async def register(family, period_id: int, serial: int, **changes) -> str:
    created = await family.post(f"/api/periods/{period_id}/applications", json=registration(serial=serial, **changes))
    assert created.status_code == 201, created.text
    return created.json()["registration_number"]


async def test_a_registration_tells_the_parent_on_every_channel_it_has(admin, transport, client, operator, session):
    period = await open_period(admin)
    account = {"email": "ibu@contoh.test", "password": PASSWORD, "name": "Ibu", "phone": "+62 812-3456-7890"}
    assert (await client.post("/api/auth/signup", json=account)).status_code == 201
    mother = await logged_in(transport, "ibu@contoh.test", PASSWORD)
    father = await sign_up(transport, "ayah@contoh.test")
    number = await register(mother, period["id"], 1)
    await register(father, period["id"], 2)
    await register(await operator(), period["id"], 3)  # walk-in: no account, nobody to tell (the proof is theirs)

    assert await told(session) == [
        ("registration_received", "email", "ibu@contoh.test"),
        ("registration_received", "phone", "6281234567890"),
        ("registration_received", "email", "ayah@contoh.test"),
    ]
    first = await session.scalar(select(Notification).order_by(Notification.id))
    assert first is not None
    assert first.key == f"registration:{number}:email"
    assert first.params == {"registration_number": number, "path": f"/pendaftaran/{number}"}


async def test_a_refused_registration_tells_nobody(admin, parent, session):
    period = await open_period(admin)
    await register(parent, period["id"], 1)
    again = await parent.post(f"/api/periods/{period['id']}/applications", json=registration(serial=1))
    assert again.status_code == 409
    assert len(await told(session)) == 1


async def test_results_tell_each_family_and_a_correction_only_those_it_changes(admin, transport, session):
    period = await open_period(admin, schools_csv=SCHOOLS)
    pid = period["id"]
    for i in range(3):
        family = await sign_up(transport, f"keluarga{i}@contoh.test")
        await register(family, pid, i + 1, latitude=-6.1795 - 0.001 * i, longitude=106.6310, choices=["20670001"])
    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    assert len(await told(session, "result_published")) == 3

    # A corrected announcement of the same results tells nobody again.
    corrected = await admin.post(f"/api/periods/{pid}/publications", json={"reason": "Salah ketik nama sekolah."})
    assert corrected.status_code == 201, corrected.text
    assert len(await told(session, "result_published")) == 3

    # A day before daftar ulang closes, the placed families who have not answered are reminded, once.
    closes = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    await events.reregistration_due(session)
    await events.reregistration_due(session)
    reminded = await told(session, "reregistration_due")
    assert sorted(r[2] for r in reminded) == ["keluarga0@contoh.test", "keluarga1@contoh.test"]
    reminder = await session.scalar(select(Notification).where(Notification.kind == "reregistration_due").limit(1))
    assert reminder is not None and reminder.params["deadline"].endswith(" WIB")


async def test_a_family_placed_nowhere_is_told_once_a_day(admin, transport, sessionmaker, session):
    period = await open_period(admin, schools_csv=SCHOOLS)
    hopeful = await sign_up(transport, "berharap@contoh.test")
    placed = await sign_up(transport, "aman@contoh.test")
    await register(hopeful, period["id"], 1, choices=["20670003"])  # a school without seats
    await register(placed, period["id"], 2, choices=["20670001"])

    await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    await events.choices_at_risk(session)
    await provisional.tick(sessionmaker, secret=TEST_SECRET, interval=0)
    await events.choices_at_risk(session)  # still at risk the same day: not told again
    assert await told(session, "choices_at_risk") == [("choices_at_risk", "email", "berharap@contoh.test")]
