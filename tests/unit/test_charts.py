"""The agency's charts stay one screen tall however many schools a region has; the tables keep every row."""

from __future__ import annotations

from datetime import date

from ppdb.regions.rules import RuleSet
from ppdb.reports.statistics import PathStats, SchoolStats, Statistics
from ppdb.web.agency import CHART_BARS, charts


def school(i: int, fill: float, cutoff: float | None) -> SchoolStats:
    return SchoolStats(
        npsn=f"2067{i:04d}",
        school_name=f"SMP {i}",
        applicants=10,
        seats=10,
        filled=round(fill * 10),
        fill_rate=fill,
        distance_cutoff_m=cutoff,
    )


def test_at_most_one_screen_of_schools_emptiest_and_narrowest_first() -> None:
    schools = [school(i, i / 40, None if i % 4 == 0 else 5000 - i * 100) for i in range(40)]  # least filled first
    stats = Statistics(
        run_id=1,
        run_kind="official",
        applications=400,
        withdrawn=0,
        disqualified=0,
        placed=195,
        unplaced=205,
        afirmasi_applicants=0,
        afirmasi_placed=0,
        afirmasi_placed_share=0.0,
        programs=[],
        schools=schools,
        paths=[PathStats(path="domisili", applicants=300, seats=200, filled=150, fill_rate=0.75)],
    )
    rules = RuleSet(preset="permendikdasmen-3-2025", paths=[], reference_date=date(2027, 7, 1), lottery_seed="")
    shown = charts(stats, rules)
    fill, cutoff, paths = shown["fill"], shown["cutoff"], shown["paths"]
    assert fill["labels"] == [f"SMP {i}" for i in range(CHART_BARS)] and fill["hidden"] == 40 - CHART_BARS
    assert fill["series"][0]["data"][:2] == [0.0, 2.5] and fill["max"] == 100
    reach = cutoff["series"][0]["data"]
    assert len(reach) == CHART_BARS and reach == sorted(reach) and reach[0] == 1.1  # SMP 39: 1,100 m
    assert cutoff["hidden"] == 30 - CHART_BARS  # ten schools have no domisili cut-off
    assert paths["labels"] == ["Domisili"] and [s["data"] for s in paths["series"]] == [[300], [200], [150]]
