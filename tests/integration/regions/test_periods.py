"""Periods from presets, quota changes within national bounds, the registration window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import expect_error, open_period


async def test_presets_cover_both_regulations_and_all_levels(admin):
    presets = (await admin.get("/api/presets")).json()
    assert {(p["name"], p["level"]) for p in presets} == {
        (name, level) for name in ("permendikbud-1-2021", "permendikdasmen-3-2025") for level in ("sd", "smp", "sma")
    } | {("permendikdasmen-3-2025", "smk")}  # SMK admissions under the 2025 rule only
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
    assert (entry.old["rules_version"], entry.new["rules_version"]) == (1, 2) == (1, body["rules_version"])
    quotas = [{p["name"]: p["quota"] for p in e["rules"]["paths"]}["domisili"] for e in (entry.old, entry.new)]
    assert quotas == [40, 50]
    assert sorted(entry.new["changed"]) == ["max_choices", "mechanism", "quotas.domisili", "quotas.prestasi"]


async def test_every_rule_is_editable_and_audited_whole(admin, session):
    from sqlalchemy import text

    period = await open_period(admin, open_=False)
    change = {
        "paths": [
            {"name": "domisili", "keys": ["distance", "choice_rank", "submitted_at"], "requires_zone": False},
            {
                "name": "afirmasi",
                "quota": 25,
                "required_documents": ["afirmasi_proof", "kk"],
                "sub_quotas": [{"name": "ketm", "share": 90}, {"name": "disabilitas", "share": 10}],
            },
        ],
        "quotas": {"domisili": 40, "prestasi": 30},
        "reference_date": "2027-06-30",
        "max_age_years": 14,
        "kk_min_age_days": 180,
    }
    changed = await admin.patch(f"/api/periods/{period['id']}/rules", json=change)
    assert changed.status_code == 200, changed.text
    rules = (await admin.get(f"/api/periods/{period['id']}")).json()["rules"]
    paths = {p["name"]: p for p in rules["paths"]}
    assert paths["domisili"]["keys"] == ["distance", "choice_rank", "submitted_at"]
    assert paths["domisili"]["requires_zone"] is False and paths["afirmasi"]["quota"] == 25
    assert [(s["name"], s["share"]) for s in paths["afirmasi"]["sub_quotas"]] == [("ketm", 90), ("disabilitas", 10)]
    assert paths["afirmasi"]["required_documents"] == ["afirmasi_proof", "kk"]
    assert (rules["reference_date"], rules["max_age_years"], rules["kk_min_age_days"]) == ("2027-06-30", 14, 180)
    entry = (await session.execute(text("SELECT old, new FROM audit_log WHERE action = 'period.rules'"))).one()
    # The whole rule set before and after, never the lottery seed (secret until registration closes).
    old_rules = {k: v for k, v in period["rules"].items() if k != "lottery_seed"}
    assert entry.old == {"rules_version": 1, "rules": old_rules}
    assert entry.new["rules"] == {k: v for k, v in rules.items() if k != "lottery_seed"}
    assert "lottery_seed" not in entry.new["rules"]
    # The same change again changes nothing: no new version, no audit entry.
    again = (await admin.patch(f"/api/periods/{period['id']}/rules", json=change)).json()
    assert again["rules_version"] == 2
    count = await session.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'period.rules'"))
    assert count == 1


def _domisili(**fields):
    return {"paths": [{"name": "domisili", **fields}]}


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        (_domisili(keys=["distance", "age"]), 422, "ranking_keys_not_strict", "paths.domisili.keys"),
        (_domisili(keys=["distance", "lottery", "submitted_at"]), 422, "ranking_key_unreachable", None),
        (_domisili(keys=["distance", "distance", "lottery"]), 422, "ranking_key_duplicate", "paths.domisili.keys"),
        (_domisili(keys=["distance", "height", "lottery"]), 400, "invalid_request", "paths[0].keys[1]"),
        (_domisili(keys=[]), 400, "invalid_request", "paths[0].keys"),
        (_domisili(required_documents=["kk", "kk"]), 422, "document_duplicate", None),
        (
            _domisili(required_documents=["surat_sakti"]),
            422,
            "document_kind_unknown",
            "paths.domisili.required_documents",
        ),
        (
            _domisili(sub_quotas=[{"name": "a", "share": 50}, {"name": "b", "share": 30}]),
            422,
            "sub_quota_sum_invalid",
            None,
        ),
        (_domisili(sub_quotas=[{"name": "Luar Kota", "share": 100}]), 422, "sub_quota_invalid", None),
        (
            _domisili(sub_quotas=[{"name": "a", "share": 50}, {"name": "a", "share": 50}]),
            422,
            "sub_quota_invalid",
            None,
        ),
        (
            _domisili(sub_quotas=[{"name": "a", "share": 100, "cap": 3}]),
            400,
            "unknown_field",
            "paths[0].sub_quotas[0].cap",
        ),
        (_domisili(kunci=["lottery"]), 400, "unknown_field", "paths[0].kunci"),
        (_domisili(quota=45), 422, "quota_sum_invalid", "quotas"),
        ({**_domisili(quota=45), "quotas": {"domisili": 45}}, 422, "quota_given_twice", "quotas.domisili"),
        ({"paths": [{"name": "zonasi", "keys": ["lottery"]}]}, 422, "path_unknown", "paths.zonasi"),
        ({"paths": [{"name": "domisili"}, {"name": "domisili"}]}, 422, "path_given_twice", "paths"),
        ({"transfers": [{"from": "mutasi", "to": "prestasi", "too": 1}]}, 400, "unknown_field", "transfers[0].too"),
        ({"reference_date": "2026-07-01"}, 422, "reference_date_invalid", "reference_date"),
        ({"reference_date": "1 Juli"}, 400, "invalid_request", "reference_date"),
        ({"early_min_age_months": 66}, 422, "age_limits_invalid", "early_min_age_months"),
        ({"min_age_months": 200, "max_age_years": 15}, 422, "age_limits_invalid", "min_age_months"),
        ({"kk_min_age_days": -1}, 400, "invalid_request", "kk_min_age_days"),
    ],
)
async def test_rule_changes_are_validated_field_by_field(admin, change, status, code, field):
    period = await open_period(admin, open_=False)
    error = expect_error(await admin.patch(f"/api/periods/{period['id']}/rules", json=change), status, code)
    assert error["field"] == (field or "paths.domisili." + next(k for k in change["paths"][0] if k != "name"))
    unchanged = (await admin.get(f"/api/periods/{period['id']}")).json()
    assert unchanged["rules"] == period["rules"] and unchanged["rules_version"] == 1


async def test_transfer_cycles_and_unknown_paths_are_refused(admin):
    period = await open_period(admin, open_=False)
    url = f"/api/periods/{period['id']}/rules"
    cycle = [{"from": "afirmasi", "to": "domisili"}, {"from": "domisili", "to": "afirmasi"}]
    expect_error(await admin.patch(url, json={"transfers": cycle}), 422, "transfer_cycle")
    expect_error(await admin.patch(url, json={"transfers": [{"from": "x", "to": "domisili"}]}), 422, "transfer_invalid")
    expect_error(await admin.patch(url, json={"mechanism": "boston"}), 400, "invalid_request")


async def test_while_open_only_the_division_of_seats_may_change(admin):
    period = await open_period(admin)
    url = f"/api/periods/{period['id']}/rules"
    moved = await admin.patch(url, json={"quotas": {"domisili": 45, "prestasi": 30}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["rules_version"] == 2
    transfers = [{"from": "mutasi", "to": "domisili"}, {"from": "afirmasi", "to": "domisili"}]
    assert (await admin.patch(url, json={"transfers": transfers})).json()["rules_version"] == 3
    # Sending what is already there is no change (a whole form sent back), and is not refused.
    same = await admin.patch(url, json={"mechanism": "deferred_acceptance", "max_choices": 3})
    assert same.status_code == 200 and same.json()["rules_version"] == 3
    for change, field in [
        ({"max_choices": 2}, "max_choices"),
        ({"mechanism": "first_choice_priority"}, "mechanism"),
        ({"reference_date": "2027-06-01"}, "reference_date"),
        ({"max_age_years": 14}, "max_age_years"),
        ({"kk_min_age_days": 30}, "kk_min_age_days"),
        (_domisili(keys=["age", "distance", "lottery"]), "paths.domisili.keys"),
        (_domisili(requires_zone=False), "paths.domisili.requires_zone"),
        (_domisili(required_documents=["kk"]), "paths.domisili.required_documents"),
        (_domisili(sub_quotas=[{"name": "reguler", "share": 100}]), "paths.domisili.sub_quotas"),
        ({"quotas": {"domisili": 40, "prestasi": 35}, "max_choices": 2}, "max_choices"),
    ]:
        error = expect_error(await admin.patch(url, json=change), 409, "rule_locked")
        assert error["field"] == field and "setelah pendaftaran dibuka" in error["message"], error
    final = (await admin.get(f"/api/periods/{period['id']}")).json()
    assert final["rules_version"] == 3 and final["rules"]["max_choices"] == 3
    assert {p["name"]: p["quota"] for p in final["rules"]["paths"]}["domisili"] == 45


async def test_once_closed_no_rule_changes(admin):
    period = await open_period(admin)
    assert (await admin.post(f"/api/periods/{period['id']}/close")).status_code == 200
    error = expect_error(
        await admin.patch(f"/api/periods/{period['id']}/rules", json={"quotas": {"domisili": 45, "prestasi": 30}}),
        409,
        "rule_locked",
    )
    assert error["field"] == "quotas.domisili" and "registration_closed" in error["message"]


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
