"""Periods from presets, quota changes within national bounds, the registration window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import expect_error, open_period


async def test_presets_cover_both_regulations_and_all_levels(admin):
    presets = (await admin.get("/api/presets")).json()
    assert {(p["name"], p["level"]) for p in presets} == {
        (name, level) for name in ("permendikbud-1-2021", "permendikdasmen-3-2025") for level in ("sd", "smp", "sma")
    }
    sd_2025 = next(p for p in presets if p["name"] == "permendikdasmen-3-2025" and p["level"] == "sd")
    assert "prestasi" not in {p["name"] for p in sd_2025["paths"]}
    for preset in presets:
        assert sum(p["quota"] for p in preset["paths"]) == 100
        assert all(p["keys"][-1] == "lottery" for p in preset["paths"])


async def test_period_from_preset_carries_rules_as_data(admin):
    period = await open_period(admin, preset="permendikdasmen-3-2025", level="smp", open_=False)
    rules = period["rules"]
    assert rules["preset"] == "permendikdasmen-3-2025"
    assert {p["name"]: p["quota"] for p in rules["paths"]} == {
        "domisili": 40,
        "afirmasi": 20,
        "mutasi": 5,
        "prestasi": 35,
    }
    assert next(p for p in rules["paths"] if p["name"] == "domisili")["keys"] == ["distance", "age", "lottery"]
    assert rules["reference_date"] == "2027-07-01"
    assert rules["max_age_years"] == 15 and rules["max_choices"] == 3
    assert rules["mechanism"] == "deferred_acceptance"
    assert rules["lottery_seed"] == "" and len(period["lottery_seed_sha256"]) == 64  # committed, not revealed
    assert rules["transfers"][0] == {"from": "afirmasi", "to": "domisili"}


async def test_seats_per_path_add_up_exactly_to_capacity(admin):
    period = await open_period(admin, open_=False)
    schools = (await admin.get(f"/api/periods/{period['id']}/schools")).json()
    assert len(schools) == 3
    for school in schools:
        assert sum(school["seats"].values()) == school["capacity"]
    odd = next(s for s in schools if s["capacity"] == 33)
    assert odd["seats"] == {"domisili": 13, "afirmasi": 7, "mutasi": 2, "prestasi": 11}


@pytest.mark.parametrize(
    ("quotas", "code"),
    [
        ({"domisili": 35, "prestasi": 40}, "quota_out_of_bounds"),  # below the national minimum of 40 %
        ({"mutasi": 6, "prestasi": 34}, "quota_out_of_bounds"),  # above the national maximum of 5 %
        ({"domisili": 45}, "quota_sum_invalid"),
        ({"zonasi": 50}, "path_unknown"),
    ],
)
async def test_quota_changes_that_break_the_rules_are_refused(admin, quotas, code):
    period = await open_period(admin, open_=False)
    error = expect_error(await admin.patch(f"/api/periods/{period['id']}/rules", json={"quotas": quotas}), 422, code)
    assert error["field"]
    unchanged = (await admin.get(f"/api/periods/{period['id']}")).json()
    assert unchanged["rules"] == period["rules"]


async def test_quota_bound_error_names_the_rule(admin):
    period = await open_period(admin, open_=False)
    error = (
        await admin.patch(f"/api/periods/{period['id']}/rules", json={"quotas": {"domisili": 35, "prestasi": 40}})
    ).json()
    assert "minimal 40%" in error["message"] and "Permendikdasmen 3/2025" in error["message"]


async def test_valid_rule_change_is_saved_and_audited(admin, session):
    from sqlalchemy import text

    period = await open_period(admin, open_=False)
    changed = await admin.patch(
        f"/api/periods/{period['id']}/rules",
        json={
            "quotas": {"domisili": 50, "prestasi": 25},
            "mechanism": "first_choice_priority",
            "max_choices": 2,
            "version": period["version"],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert {p["name"]: p["quota"] for p in body["rules"]["paths"]}["domisili"] == 50
    assert body["rules"]["mechanism"] == "first_choice_priority" and body["version"] == period["version"] + 1
    stale = await admin.patch(
        f"/api/periods/{period['id']}/rules", json={"max_choices": 3, "version": period["version"]}
    )
    expect_error(stale, 409, "concurrent_update")
    entry = (await session.execute(text("SELECT old, new FROM audit_log WHERE action = 'period.rules'"))).one()
    assert entry.old["quotas"]["domisili"] == 40 and entry.new["quotas"]["domisili"] == 50


async def test_transfer_cycles_and_unknown_paths_are_refused(admin):
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/rules"
    cycle = [{"from": "afirmasi", "to": "domisili"}, {"from": "domisili", "to": "afirmasi"}]
    expect_error(await admin.patch(url, json={"transfers": cycle}), 422, "transfer_cycle")
    expect_error(await admin.patch(url, json={"transfers": [{"from": "x", "to": "domisili"}]}), 422, "transfer_invalid")
    expect_error(await admin.patch(url, json={"mechanism": "boston"}), 400, "invalid_request")


async def test_rules_are_frozen_once_registration_opens(admin):
    period = await open_period(admin)
    expect_error(
        await admin.patch(f"/api/periods/{period['id']}/rules", json={"max_choices": 2}), 409, "period_not_draft"
    )


async def test_open_close_transitions(admin):
    period = await open_period(admin, open_=False)
    pid = period["id"]
    expect_error(await admin.post(f"/api/periods/{pid}/close"), 409, "invalid_transition")
    assert (await admin.post(f"/api/periods/{pid}/open")).json()["status"] == "registration_open"
    expect_error(await admin.post(f"/api/periods/{pid}/open"), 409, "invalid_transition")
    assert (await admin.post(f"/api/periods/{pid}/close")).json()["status"] == "registration_closed"


async def test_cannot_open_without_schools(admin):
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    now = datetime.now(UTC)
    period = (
        await admin.post(
            "/api/periods",
            json={
                "region_id": region_id,
                "school_year": "2027/2028",
                "level": "sma",
                "preset": "permendikbud-1-2021",
                "registration_opens_at": now.isoformat(),
                "registration_closes_at": (now + timedelta(days=3)).isoformat(),
            },
        )
    ).json()
    expect_error(await admin.post(f"/api/periods/{period['id']}/open"), 409, "no_schools")


async def test_period_creation_errors(admin):
    region_id = (await admin.get("/api/auth/me")).json()["region_id"]
    now = datetime.now(UTC)
    body = {
        "region_id": region_id,
        "school_year": "2027/2028",
        "level": "smp",
        "preset": "permendikdasmen-3-2025",
        "registration_opens_at": now.isoformat(),
        "registration_closes_at": (now + timedelta(days=3)).isoformat(),
    }
    expect_error(await admin.post("/api/periods", json={**body, "preset": "perda-99"}), 422, "preset_unknown")
    expect_error(await admin.post("/api/periods", json={**body, "region_id": 999}), 403, "forbidden_region")
    expect_error(
        await admin.post("/api/periods", json={**body, "registration_closes_at": body["registration_opens_at"]}),
        422,
        "schedule_invalid",
    )
    expect_error(await admin.post("/api/periods", json={**body, "school_year": "2027"}), 400, "invalid_request")
    assert (await admin.post("/api/periods", json=body)).status_code == 201
    expect_error(await admin.post("/api/periods", json=body), 409, "period_exists")
