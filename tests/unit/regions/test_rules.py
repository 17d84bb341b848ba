"""The rule set's checks: a region's own paths inside the national bounds, sub-quotas that add up."""

from __future__ import annotations

import msgspec
import pytest

from ppdb.regions.rules import (
    PRESETS,
    Level,
    PathRule,
    RuleViolation,
    SubQuota,
    Transfer,
    check_rules,
    rules_from_preset,
)

PRESET = PRESETS["permendikdasmen-3-2025", Level.SMA]
RULES = rules_from_preset(PRESET, "2027/2028")


def split_prestasi(lomba: float, akademik: float):
    """Jatim SMA: prestasi 30 % as lomba and nilai akademik, two paths of the national prestasi."""
    prestasi = RULES.path("prestasi")
    assert prestasi is not None
    own = [
        msgspec.structs.replace(prestasi, name="prestasi_lomba", category="prestasi", quota=lomba, title="Lomba"),
        msgspec.structs.replace(prestasi, name="prestasi_akademik", category="prestasi", quota=akademik),
    ]
    transfers = [
        Transfer("afirmasi", "domisili"),
        Transfer("mutasi", "prestasi_akademik"),
        Transfer("prestasi_lomba", "prestasi_akademik"),
        Transfer("prestasi_akademik", "domisili"),  # Jatim: leftover prestasi akademik to domisili
    ]
    paths = [p for p in RULES.paths if p.name != "prestasi"] + own
    return msgspec.structs.replace(RULES, paths=paths, transfers=transfers)


def refused(rules) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        check_rules(rules, PRESET)
    return caught.value


def test_a_region_may_split_a_national_path_and_the_bound_holds_for_the_sum():
    check_rules(split_prestasi(5.0, 30.0), PRESET)  # 35 % together, as the preset
    low = msgspec.structs.replace(
        split_prestasi(5.0, 20.0),
        paths=[
            msgspec.structs.replace(p, quota=40.0) if p.name == "domisili" else p for p in split_prestasi(5, 20).paths
        ],
    )
    violation = refused(low)
    assert violation.code == "quota_out_of_bounds" and violation.field == "paths.prestasi"


def test_every_national_path_keeps_a_path_and_categories_are_national():
    without = msgspec.structs.replace(RULES, paths=[p for p in RULES.paths if p.name != "mutasi"])
    assert refused(without).code == "paths_mismatch"
    stray = PathRule(name="kelas_industri", category="smk", quota=0.0, keys=["lottery"])
    violation = refused(msgspec.structs.replace(RULES, paths=[*RULES.paths, stray]))
    assert (violation.code, violation.field) == ("path_category_unknown", "paths.kelas_industri.category")


@pytest.mark.parametrize(
    ("subs", "code"),
    [
        (
            [SubQuota(name="utama", share=70, zone_tiers=[1]), SubQuota(name="x", share=20, zone_tiers=[2])],
            "sub_quota_sum_invalid",
        ),
        ([SubQuota(name="utama", share=50, zone_tiers=[1]), SubQuota(name="umum", share=50)], "sub_quota_basis_mixed"),
        (
            [SubQuota(name="a", share=50, zone_tiers=[1]), SubQuota(name="b", share=50, zone_tiers=[1, 2])],
            "sub_quota_tier_overlap",
        ),
        (
            [SubQuota(name="a", share=50, per_kelurahan=True), SubQuota(name="b", share=50)],
            "sub_quota_per_kelurahan_without_tiers",
        ),
        (
            [SubQuota(name="ketm", share=90, unused_to="panti"), SubQuota(name="panti", share=10, unused_to="ketm")],
            "transfer_cycle",
        ),
        ([SubQuota(name="ketm", share=90), SubQuota(name="panti", share=10, unused_to="atss")], "transfer_invalid"),
        ([SubQuota(name="Sebaran-2", share=100)], "sub_quota_invalid"),
    ],
)
def test_sub_quotas_that_cannot_work_are_refused_with_their_own_code(subs, code):
    paths = [msgspec.structs.replace(p, sub_quotas=subs) if p.name == "domisili" else p for p in RULES.paths]
    violation = refused(msgspec.structs.replace(RULES, paths=paths))
    assert violation.code == code and violation.field.startswith("paths.domisili.sub_quotas")
