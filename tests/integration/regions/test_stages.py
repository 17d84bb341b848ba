"""An admission in stages (Jabar: tahap 1 domisili, afirmasi, mutasi; tahap 2 prestasi), each stage a period of
its own: registration only on the stage's paths, the next stage after daftar ulang with the seats left (all but
those confirmed), the empty seats of the paths that are over going to the stage's paths, and a child who took
a seat locked out of the later stage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from ppdb.applicants.models import Application
from ppdb.schools.models import PeriodSchool, School
from tests.conftest import sign_up
from tests.helpers import ORIGIN, enter_rapor, expect_error, open_period, registration
from tests.integration.web.test_pages import admin_browser

SCHOOLS = """npsn,name,level,latitude,longitude,capacity,kelurahan_code
20670001,SMP Negeri 1 Uji,smp,-6.1790,106.6310,5,36.71.01.1001
20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,0,36.71.01.1002
20670003,SMP Negeri 3 Uji,smp,-6.2000,106.6500,0,36.71.02.1001
"""
PROOF = {"domisili": [], "afirmasi": ["afirmasi_proof"], "mutasi": ["mutasi_letter"]}
STAGES = [
    {"name": "Tahap 1", "paths": ["domisili", "afirmasi", "mutasi"]},
    {"name": "Tahap 2", "paths": ["prestasi"]},
]
# Prestasi by age here (no rapor to enter): the stage structure is what is tested.
PRESTASI = {"name": "prestasi", "keys": ["age", "lottery"], "score": None, "required_documents": []}


async def staged_period(admin, lockout: str = "placed") -> dict:
    period = await open_period(admin, schools_csv=SCHOOLS, open_=False)
    change = {"stages": STAGES, "paths": [PRESTASI], "stage_lockout": lockout}
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json=change)
    assert changed.status_code == 200, changed.text
    assert (await admin.post(f"/api/periods/{period['id']}/open")).status_code == 200
    return period


def child(serial: int, path: str = "domisili") -> dict:
    docs = ["kk", "akta_kelahiran"]
    return registration(serial, path=path, choices=["20670001"], documents=docs, latitude=-6.1781 - 0.0005 * serial)


async def register(family, period_id: int, body: dict) -> str:
    created = await family.post(f"/api/periods/{period_id}/applications", json=body)
    assert created.status_code == 201, created.text
    return created.json()["registration_number"]


async def announce(admin, period_id: int) -> None:
    """Close registration, run the official selection and publish it."""
    for step, payload in (("close", None), ("selection-runs", None), ("publications", {})):
        assert (await admin.post(f"/api/periods/{period_id}/{step}", json=payload)).status_code in (200, 201)


async def open_daftar_ulang(admin, period_id: int) -> None:
    closes = {"closes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    assert (await admin.post(f"/api/periods/{period_id}/reregistration/open", json=closes)).status_code == 204


def stage_window() -> dict[str, str]:
    """A next stage's registration window, open now."""
    now = datetime.now(UTC)
    return {
        "registration_opens_at": (now - timedelta(hours=1)).isoformat(),
        "registration_closes_at": (now + timedelta(days=3)).isoformat(),
    }


@pytest.mark.parametrize("lockout", ["placed", "confirmed"])
async def test_a_second_stage_gets_the_seats_the_first_left_and_not_its_children(
    admin, transport, client, session, lockout
):
    first = await staged_period(admin, lockout)
    pid = first["id"]
    a, b, c, d = [await sign_up(transport, f"tahap{i}@contoh.test") for i in range(4)]
    told = expect_error(
        await a.post(f"/api/periods/{pid}/applications", json=child(1, "prestasi")), 422, "path_not_in_stage"
    )
    assert "Tahap 1" in told["message"]
    number_a = await register(a, pid, child(1))
    number_b = await register(b, pid, child(2))
    await register(c, pid, child(3))
    await register(d, pid, child(4))  # the farthest: domisili's 2 seats and afirmasi's 1 go to the 3 nearest

    assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
    run = (await admin.post(f"/api/periods/{pid}/selection-runs")).json()
    assert (run["applicants"], run["placed"]) == (4, 3)  # prestasi's 2 seats are kept for tahap 2
    expect_error(await admin.post(f"/api/periods/{pid}/next-stage", json={}), 409, "invalid_transition")
    assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
    closes = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json={"closes_at": closes})).status_code == 204
    confirm = {"decision": "confirmed"}
    assert (await a.post(f"/api/applications/{number_a}/reregistration", json=confirm)).status_code == 200
    decline = {"decision": "declined"}
    assert (await b.post(f"/api/applications/{number_b}/reregistration", json=decline)).status_code == 200
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200

    window = stage_window()
    started = await admin.post(f"/api/periods/{pid}/next-stage", json=window)
    assert started.status_code == 201, started.text
    second = started.json()
    assert (second["stage"], second["first_period_id"], second["status"]) == (2, pid, "draft")
    assert second["name"].endswith("Tahap 2")
    expect_error(await admin.post(f"/api/periods/{pid}/next-stage", json=window), 409, "stage_exists")
    expect_error(await admin.post(f"/api/periods/{pid}/vacancy-rounds"), 409, "next_stage_started")
    seats = await session.scalars(select(PeriodSchool.capacity).where(PeriodSchool.period_id == second["id"]))
    assert sorted(seats) == [0, 0, 4]  # 5, less the one seat confirmed in tahap 1 (declined and unclaimed seats go on)

    sid = second["id"]
    assert (await admin.post(f"/api/periods/{sid}/open")).status_code == 200
    expect_error(
        await a.post(f"/api/periods/{sid}/applications", json=child(1, "prestasi")), 409, "placed_in_earlier_stage"
    )
    expect_error(await b.post(f"/api/periods/{sid}/applications", json=child(2)), 422, "path_not_in_stage")
    if lockout == "placed":  # placed and not declined (no answer before the deadline): out, like a confirmed one
        expect_error(
            await c.post(f"/api/periods/{sid}/applications", json=child(3, "prestasi")), 409, "placed_in_earlier_stage"
        )
    else:  # only a confirmed seat keeps a child out
        await register(c, sid, child(3, "prestasi"))
    await register(b, sid, child(2, "prestasi"))  # declined in tahap 1: free to try again
    await register(d, sid, child(4, "prestasi"))  # not placed in tahap 1
    for serial in range(5, 8):
        await register(await sign_up(transport, f"prestasi{serial}@contoh.test"), sid, child(serial, "prestasi"))
    assert (await admin.post(f"/api/periods/{sid}/close")).status_code == 200
    run = (await admin.post(f"/api/periods/{sid}/selection-runs")).json()
    # prestasi's own share of 4 seats is 1; the seats of the paths whose stage is over come to it
    assert (run["applicants"], run["placed"]) == (5 if lockout == "placed" else 6, 4)
    public = (await client.get(f"/api/periods/{pid}")).json()
    assert [s["name"] for s in public["rules"]["stages"]] == ["Tahap 1", "Tahap 2"]
    home = (await client.get("/")).text  # the public timeline, on each stage's card
    assert home.count('aria-current="step"') == 2 and home.count("Tahap 2</strong> (periode ini)") == 1


async def test_the_last_stage_has_no_next_one(admin, parent):
    period = await staged_period(admin)
    single = await open_period(admin, schools_csv=SCHOOLS.replace("20670001", "20670009"), level="sma", open_=False)
    expect_error(await admin.post(f"/api/periods/{single['id']}/next-stage", json={}), 409, "invalid_transition")
    assert period["id"] != single["id"]


@pytest.mark.parametrize(
    ("template", "level", "stages"),
    [
        ("jabar-2025-sma", "sma", [["domisili", "afirmasi", "mutasi"], ["prestasi"]]),
        ("jatim-2025-sma", "sma", [["afirmasi", "mutasi", "prestasi_lomba"], ["prestasi"], ["domisili"]]),
        ("dki-2025-sma", "sma", [["afirmasi", "mutasi"], ["prestasi", "prestasi_non_akademik"], ["domisili"]]),
        (
            "kota-tangerang-2025-smp",
            "smp",
            [["afirmasi"], ["domisili"], ["mutasi"], ["prestasi"], ["domisili", "afirmasi", "mutasi", "prestasi"]],
        ),
    ],
)
async def test_a_templates_stages_run_one_after_another(admin, parent, session, template, level, stages):
    """Each stage of the juknis in turn: only its paths take registrations; the next starts after daftar ulang."""
    schools = SCHOOLS.replace(",smp,", f",{level},")
    period = await open_period(admin, schools_csv=schools, level=level, open_=False)
    if level == "sma":  # (the helper imports schools for an SMP period only)
        imported = await admin.post(f"/api/periods/{period['id']}/schools/import", content=schools)
        assert imported.status_code == 200, imported.text
    loaded = await admin.post(f"/api/periods/{period['id']}/rules/template", json={"template": template})
    assert loaded.status_code == 200, loaded.text
    paths = [p["name"] for p in loaded.json()["rules"]["paths"]]
    now = datetime.now(UTC)
    window = stage_window()
    pid = period["id"]
    seats = 5
    serial = 0
    for number, open_paths in enumerate(stages, start=1):
        assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
        for path in sorted(set(paths) - set(open_paths)):
            birth = {"sma": date(2011, 3, 15), "smp": date(2014, 3, 15)}[level]
            body = registration(number, path=path, choices=["20670001"], birth_date=birth)
            refused = await parent.post(f"/api/periods/{pid}/applications", json=body)
            assert refused.json()["code"] == "path_not_in_stage", (template, number, path, refused.text)
        numbers = []
        if level == "smp":  # children on the stage's distance-ranked paths (prestasi needs an origin school's rapor)
            for path in [p for p in open_paths if p in PROOF]:
                serial += 1
                body = child(serial, path) | {"documents": ["kk", "akta_kelahiran", *PROOF[path]]}
                numbers.append(await register(parent, pid, body))
        assert (await admin.post(f"/api/periods/{pid}/close")).status_code == 200
        assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
        assert (await admin.post(f"/api/periods/{pid}/publications", json={})).status_code == 201
        closes = {"closes_at": (now + timedelta(days=1)).isoformat()}
        assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json=closes)).status_code == 204
        confirmed = 0
        for registered in numbers:  # every family placed takes its seat
            if (await parent.get(f"/api/applications/{registered}/status")).json()["placed_choice"] is not None:
                decided = await parent.post(
                    f"/api/applications/{registered}/reregistration", json={"decision": "confirmed"}
                )
                assert decided.status_code == 200, decided.text
                confirmed += 1
        assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
        following = await admin.post(f"/api/periods/{pid}/next-stage", json=window)
        if number == len(stages):
            expect_error(following, 409, "no_next_stage")
            break
        assert following.status_code == 201, following.text
        assert following.json()["stage"] == number + 1
        pid = following.json()["id"]
        seats -= confirmed
        left = await session.scalar(
            select(PeriodSchool.capacity)
            .join(School, School.id == PeriodSchool.school_id)
            .where(PeriodSchool.period_id == pid, School.npsn == "20670001")
        )
        assert left == seats, (template, number, left, seats)  # the seats go on, less those taken
    if level == "smp":
        assert seats < 5  # children were placed and took seats on the way


async def test_the_agency_page_starts_the_next_stage(transport, admin, parent) -> None:
    client = httpx.AsyncClient(transport=transport, base_url="https://testserver")  # the session cookie is Secure
    period = await staged_period(admin)
    assert (await parent.post(f"/api/periods/{period['id']}/applications", json=child(1))).status_code == 201
    token = await admin_browser(client)
    url = f"/dinas/periode/{period['id']}"
    for action in ("tutup", "seleksi", "umumkan", "daftar-ulang", "tutup-daftar-ulang"):
        done = await client.post(f"{url}/aksi/{action}", data={"_csrf": token, "days": "3", "yakin": "1"})
        assert done.status_code == 302, (action, done.text)
    shown = await client.get(url)
    page = shown.text
    assert shown.status_code == 200, (shown.status_code, shown.headers)
    assert "Tahap 1 dari 2 tahap" in page and "Mulai Tahap 2" in page
    no_dates = await client.post(f"{url}/aksi/tahap-berikutnya", data={"_csrf": token, "yakin": "1"})
    assert no_dates.status_code == 422 and "Isi jadwal pendaftaran Tahap 2" in no_dates.text
    window = {"_csrf": token, "opens_at": "2027-06-20T08:00", "closes_at": "2027-06-22T16:00", "yakin": "1"}
    started = await client.post(f"{url}/aksi/tahap-berikutnya", data=window)
    assert started.status_code == 302
    second = (await client.get(started.headers["location"])).text
    assert "Tahap 2 dari 2 tahap" in second and "tahap pertama" in second
    home = (await client.get("/")).text  # a draft is not public yet: tahap 2 is still to be announced
    assert "20-06-2027 08:00 WIB" not in home and "Jadwal diumumkan Dinas" in home
    await client.aclose()


async def test_one_pin_serves_every_stage_of_the_admission(admin, parent, client) -> None:
    """Jatim: the PIN a family got before tahap 1 registers the child in any stage, and signs the family in."""
    period = await open_period(admin, schools_csv=SCHOOLS, open_=False)
    change = {"stages": STAGES, "paths": [PRESTASI], "pin_required": True}
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json=change)).status_code == 200
    pid = period["id"]
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    body = child(1, "afirmasi") | {"documents": ["kk", "akta_kelahiran", "afirmasi_proof"]}
    (pin,) = (await admin.post(f"/api/periods/{pid}/pins", json={"niks": [body["nik"]]})).json()
    first = await register(parent, pid, body | {"pin": pin["pin"]})
    await announce(admin, pid)
    await open_daftar_ulang(admin, pid)
    declined = await parent.post(f"/api/applications/{first}/reregistration", json={"decision": "declined"})
    assert declined.status_code == 200, declined.text  # placed in afirmasi; hoping for prestasi in tahap 2
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    window = stage_window()
    second = (await admin.post(f"/api/periods/{pid}/next-stage", json=window)).json()
    assert (await admin.post(f"/api/periods/{second['id']}/open")).status_code == 200
    url = f"/api/periods/{second['id']}/applications"
    expect_error(await parent.post(url, json=child(1, "prestasi") | {"pin": "AAAAA-AAAAA"}), 422, "pin_invalid")
    number = await register(parent, second["id"], child(1, "prestasi") | {"pin": pin["pin"]})
    # the PIN finds the child's tahap 2 registration (in the parent's e-mail account: a PIN does not open that)
    signed = await client.post("/api/auth/pin-login", json={"nik": body["nik"], "pin": pin["pin"]})
    expect_error(signed, 409, "pin_login_has_account")
    assert number.startswith("2027-SMP-")


async def test_children_placed_nowhere_are_carried_into_a_stage_that_says_so(admin, transport, operator, session):
    """Tahap II (Kota Tangerang style, carried): unplaced registrations move on as they stand, documents and
    their verification included; those on a path the stage does not open are not carried."""
    period = await open_period(admin, schools_csv=SCHOOLS, open_=False)
    stages = [
        {"name": "Tahap I", "paths": ["domisili", "afirmasi", "mutasi"]},
        {"name": "Tahap II", "paths": ["domisili", "prestasi"], "unplaced": "carried"},
    ]
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json={"stages": stages})).status_code == 200
    pid = period["id"]
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    families = [await sign_up(transport, f"bawa{i}@contoh.test") for i in range(5)]
    numbers = [await register(f, pid, child(i + 1)) for i, f in enumerate(families[:4])]
    # an afirmasi child at a school without seats: placed nowhere, on a path tahap II does not open
    afirmasi = child(5, "afirmasi") | {"documents": ["kk", "akta_kelahiran", "afirmasi_proof"], "choices": ["20670002"]}
    far = await register(families[4], pid, afirmasi)
    last = numbers[-1]  # the farthest of the domisili children: placed nowhere
    assert (await families[3].put(f"/api/applications/{last}/documents/kk", content=b"%PDF-1.4 kk")).status_code == 200
    school = await operator()
    decided = await school.post(f"/api/applications/{last}/documents/kk/decision", json={"decision": "verified"})
    assert decided.status_code == 200, decided.text
    await announce(admin, pid)
    await open_daftar_ulang(admin, pid)
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    placed = (await families[3].get(f"/api/applications/{last}/status")).json()
    assert placed["placed_choice"] is None
    window = stage_window()
    second = (await admin.post(f"/api/periods/{pid}/next-stage", json=window)).json()
    carried = list(
        await session.scalars(select(Application.registration_number).where(Application.period_id == second["id"]))
    )
    assert len(carried) == 1 and carried[0] != last  # only the domisili child; afirmasi is not open in tahap II
    moved = (await families[3].get(f"/api/applications/{carried[0]}")).json()  # in the same family's account
    assert moved["path"] == "domisili" and moved["period_id"] == second["id"]
    kk = next(d for d in moved["documents"] if d["kind"] == "kk")
    assert kk["status"] == "verified"
    copy = await families[3].get(f"/api/applications/{carried[0]}/documents/kk")
    assert copy.status_code == 200 and copy.content == b"%PDF-1.4 kk"
    assert far.startswith("2027-SMP-")


@pytest.mark.parametrize("ranks", [1, 2])
async def test_only_a_seat_at_the_first_choices_keeps_a_child_out_where_the_rules_say_so(admin, parent, ranks):
    """Jabar: accepted at choice 1 or 2 in tahap 1 keeps a child out of tahap 2; a seat at choice 3 does not."""
    schools = SCHOOLS.replace(
        "20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,0", "20670002,SMP Negeri 2 Uji,smp,-6.1900,106.6400,5"
    )
    period = await open_period(admin, schools_csv=schools, open_=False)
    change = {"stages": STAGES, "paths": [PRESTASI], "stage_lockout_ranks": ranks}
    assert (await admin.patch(f"/api/periods/{period['id']}/rules", json=change)).status_code == 200
    pid = period["id"]
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    # choice 1 a school without seats (20670003), choice 2 one with: placed at choice 2
    body = child(1) | {"choices": ["20670003", "20670002"]}
    await register(parent, pid, body)
    await announce(admin, pid)
    await open_daftar_ulang(admin, pid)
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    window = stage_window()
    second = (await admin.post(f"/api/periods/{pid}/next-stage", json=window)).json()
    assert (await admin.post(f"/api/periods/{second['id']}/open")).status_code == 200
    url = f"/api/periods/{second['id']}/applications"
    if ranks == 1:  # placed at choice 2, beyond the first 1: free to try tahap 2
        await register(parent, second["id"], child(1, "prestasi"))
    else:
        expect_error(await parent.post(url, json=child(1, "prestasi")), 409, "placed_in_earlier_stage")


async def test_jabar_tahap_2_ranks_prestasi_on_the_rapor_and_tests_entered_before_tahap_1(admin, parent) -> None:
    """The origin schools' rapor and the Dinas' test results are entered once for the admission: a child who
    registers for prestasi in tahap 2 is ranked on what was entered before tahap 1."""
    schools = SCHOOLS.replace(",smp,", ",sma,")
    period = await open_period(admin, schools_csv=schools, level="sma", open_=False)
    pid = period["id"]
    assert (await admin.post(f"/api/periods/{pid}/schools/import", content=schools)).status_code == 200
    zones = "npsn,kelurahan_code,radius_m,priority\n20670001,36.71.01.1001,,1\n"
    assert (await admin.post(f"/api/periods/{pid}/zones/import", content=zones)).status_code == 200
    loaded = await admin.post(f"/api/periods/{pid}/rules/template", json={"template": "jabar-2025-sma"})
    assert loaded.status_code == 200, loaded.text
    birth = date(2011, 3, 15)
    near, later = (
        registration(i, birth_date=birth, choices=["20670001"], documents=["kk", "akta_kelahiran"]) for i in (1, 2)
    )
    for body in (near, later):
        await enter_rapor(admin, pid, body, "85")
    tested = await admin.post(
        f"/api/periods/{pid}/tests/import", content=f"nisn,komponen,nilai\n{later['nisn']},tes_terstandar,80\n"
    )
    assert tested.status_code == 200, tested.text
    assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
    await register(parent, pid, near)
    await announce(admin, pid)
    await open_daftar_ulang(admin, pid)
    assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
    window = stage_window()
    second = (await admin.post(f"/api/periods/{pid}/next-stage", json=window)).json()
    sid = second["id"]
    assert (await admin.post(f"/api/periods/{sid}/open")).status_code == 200
    number = await register(parent, sid, later | {"path": "prestasi", "documents": ["kk", "akta_kelahiran", "rapor"]})
    score = await parent.get(f"/api/applications/{number}/score")
    assert score.status_code == 200 and score.json()["total"] is not None, score.text
    await announce(admin, sid)
    status = await parent.get(f"/api/applications/{number}/status")
    assert status.json()["placed_choice"] == 1, status.text


async def test_jatim_three_sma_stages_on_one_pin_with_the_seats_going_on(admin, transport) -> None:
    """Jatim SMA: tahap 1 afirmasi, tahap 2 prestasi akademik (rapor and school index entered once), tahap 3
    domisili; each family registers with the one PIN it got before tahap 1; the confirmed seats leave each
    next stage exactly that many seats fewer, and a child placed earlier stays out."""
    schools = SCHOOLS.replace(",smp,", ",sma,")
    period = await open_period(admin, schools_csv=schools, level="sma", open_=False)
    pid = period["id"]
    assert (await admin.post(f"/api/periods/{pid}/schools/import", content=schools)).status_code == 200
    zones = "npsn,kelurahan_code,radius_m,priority\n20670001,36.71.01.1001,,1\n"
    assert (await admin.post(f"/api/periods/{pid}/zones/import", content=zones)).status_code == 200
    assert (
        await admin.post(f"/api/periods/{pid}/rules/template", json={"template": "jatim-2025-sma"})
    ).status_code == 200
    assert (await admin.patch(f"/api/periods/{pid}/rules", json={"pin_required": True})).status_code == 200
    indexes = await admin.post(f"/api/periods/{pid}/school-indexes/import", content=f"npsn,indeks\n{ORIGIN},80\n")
    assert indexes.status_code == 200, indexes.text
    birth = date(2011, 3, 15)
    docs = {"afirmasi": ["afirmasi_proof"], "prestasi": ["rapor"], "domisili": ["rapor"]}
    children = {
        path: registration(i, birth_date=birth, path=path, choices=["20670001"], documents=["kk", "akta_kelahiran", *d])
        for i, (path, d) in enumerate(docs.items(), start=1)
    }
    for body in children.values():
        await enter_rapor(admin, pid, body, "88")
    issued = await admin.post(f"/api/periods/{pid}/pins", json={"niks": [b["nik"] for b in children.values()]})
    pins = {p["nik"]: p["pin"] for p in issued.json()}
    families = {path: await sign_up(transport, f"jatim.{path}@contoh.test") for path in children}
    now = datetime.now(UTC)
    window = stage_window()
    seats = await session_seats(admin, pid)
    for stage, path in enumerate(("afirmasi", "prestasi", "domisili"), start=1):
        assert (await admin.post(f"/api/periods/{pid}/open")).status_code == 200
        body = children[path] | {"pin": pins[children[path]["nik"]]}
        number = await register(families[path], pid, body)
        if stage > 1:  # the child placed in tahap 1 stays out
            earlier = children["afirmasi"] | {"path": path, "pin": pins[children["afirmasi"]["nik"]]}
            refused = await families["afirmasi"].post(f"/api/periods/{pid}/applications", json=earlier)
            assert refused.json()["code"] == "placed_in_earlier_stage", refused.text
        await announce(admin, pid)
        closes = {"closes_at": (now + timedelta(days=1)).isoformat()}
        assert (await admin.post(f"/api/periods/{pid}/reregistration/open", json=closes)).status_code == 204
        status = (await families[path].get(f"/api/applications/{number}/status")).json()
        assert status["placed_choice"] == 1, (path, status)
        confirm = {"decision": "confirmed"}
        assert (
            await families[path].post(f"/api/applications/{number}/reregistration", json=confirm)
        ).status_code == 200
        assert (await admin.post(f"/api/periods/{pid}/reregistration/close")).status_code == 200
        following = await admin.post(f"/api/periods/{pid}/next-stage", json=window)
        if stage == 3:
            expect_error(following, 409, "no_next_stage")
            break
        pid = following.json()["id"]
        seats -= 1
        assert await session_seats(admin, pid) == seats  # the confirmed seat is gone, all others go on


async def session_seats(admin, period_id: int) -> int:
    """The seats of SMA Negeri 1 Uji in a period, as the public school list gives them."""
    listed = (await admin.get(f"/api/periods/{period_id}/schools")).json()
    return next(s["capacity"] for s in listed if s["npsn"] == "20670001")
