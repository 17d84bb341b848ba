"""A withdrawn application keeps the data it was submitted with: a later registration of the same child (by its
family, or by anyone) never becomes readable through it (security review H1), and schools no longer see it (L10)."""

from __future__ import annotations

from tests.conftest import sign_up
from tests.helpers import expect_error, open_period, registration

JUNK = {"name": "Xx Yy", "address": "Xx", "kk_number": "3671019999999998", "latitude": -6.30, "longitude": 106.70}
REAL = {"name": "Dewi Lestari Putri", "address": "Jl. Melati No. 12, RT 003/RW 004", "kk_number": "3671012345678901"}


async def test_a_withdrawn_application_never_shows_a_later_registration_of_the_child(
    admin, parent, transport, operator
):
    period = await open_period(admin)
    pid = period["id"]
    attacker = await sign_up(transport, "penyerobot@contoh.test")
    squatted = await attacker.post(f"/api/periods/{pid}/applications", json=registration(choices=["20670001"]) | JUNK)
    assert squatted.status_code == 201, squatted.text
    theirs = squatted.json()["registration_number"]
    assert (await attacker.post(f"/api/applications/{theirs}/withdraw")).status_code == 200

    family = await parent.post(f"/api/periods/{pid}/applications", json=registration(choices=["20670001"]) | REAL)
    assert family.status_code == 201, family.text
    mine = family.json()["registration_number"]
    changed = await parent.patch(f"/api/applications/{mine}", json={"address": "Jl. Melati No. 14, RT 003/RW 004"})
    assert changed.status_code == 200, changed.text

    seen = (await attacker.get(f"/api/applications/{theirs}")).json()
    assert seen["status"] == "withdrawn"
    assert {k: seen["applicant"][k] for k in ("name", "address", "kk_number")} == {
        k: JUNK[k] for k in ("name", "address", "kk_number")
    }
    assert (seen["applicant"]["latitude"], seen["applicant"]["longitude"]) == (JUNK["latitude"], JUNK["longitude"])
    status = await attacker.get(f"/pendaftaran/{theirs}")
    assert status.status_code == 200 and "Xx Yy" in status.text
    assert "Melati" not in status.text and "Dewi" not in status.text
    # The family's own application shows its data; the Dinas sees each application with its own.
    assert (await parent.get(f"/api/applications/{mine}")).json()["applicant"]["name"] == REAL["name"]
    assert (await admin.get(f"/api/applications/{theirs}")).json()["applicant"]["name"] == JUNK["name"]
    # The chosen school sees the live registration, not the withdrawn one.
    school = await operator("20670001", "op.tarik@sekolah.test")
    assert (await school.get(f"/api/applications/{mine}")).status_code == 200
    expect_error(await school.get(f"/api/applications/{theirs}"), 404, "application_not_found")
