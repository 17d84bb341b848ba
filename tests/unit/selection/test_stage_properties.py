"""Stages, as properties over random admissions: a stage's programs share out exactly the seats it starts with,
and move them without making or losing one; every placement is on a path the stage opens; seats that reach a
path still to come are kept for it; no seat stays behind on a path whose stages are over; and with more
applicants than seats, every seat the stage's paths end with is taken. Across the stages, the seats confirmed
and the seats left add up to the seats the admission started with."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from ppdb.regions.rules import Stage
from ppdb.selection import engine
from ppdb.selection.compiler import SchoolSeats, compile_period
from tests.unit.selection.test_compiler import RULES, app

PATHS = [p.name for p in RULES.paths]
SCHOOLS = ["20670001", "20670002"]


@st.composite
def staged_admissions(draw: st.DrawFn) -> tuple[list[Stage], dict[str, int]]:
    order = draw(st.permutations(PATHS))
    cuts = sorted(draw(st.sets(st.integers(1, len(PATHS) - 1), max_size=3)))
    groups = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(PATHS)], strict=True)]
    if draw(st.booleans()):  # a tahap II for every path, after the windows per path
        groups.append(list(PATHS))
    stages = [Stage(name=f"Tahap {i + 1}", paths=list(g)) for i, g in enumerate(groups)]
    return stages, {npsn: draw(st.integers(0, 12)) for npsn in SCHOOLS}


@settings(max_examples=60, deadline=None)
@given(staged_admissions(), st.data())
def test_no_seat_is_lost_or_created_between_stages(admission, data) -> None:
    stages, capacity = admission
    rules = msgspec.structs.replace(RULES, stages=stages)
    start, confirmed_total = sum(capacity.values()), 0
    for number, stage in enumerate(stages, start=1):
        later = {p for s in stages[number:] for p in s.paths} - set(stage.paths)
        applicants = [
            app(
                f"T{number}{path[:3]}{i}",
                path,
                choices=[(npsn, float(data.draw(st.integers(1, 5000))), True) for npsn in SCHOOLS],
            )
            for path in stage.paths
            for i in range(sum(capacity.values()) + 1)  # more than all the seats, on every path of the stage
        ]
        compiled = compile_period(rules.for_stage(number), [SchoolSeats(n, c) for n, c in capacity.items()], applicants)
        programs = {p.id: p for p in compiled.instance.programs}
        result = engine.solve(compiled.instance)
        for npsn in SCHOOLS:
            assert sum(p.capacity for p in programs.values() if p.school == npsn) == capacity[npsn]
        placed = {npsn: 0 for npsn in SCHOOLS}
        for program in filter(None, result.assignments.values()):
            assert programs[program].path in stage.paths
            placed[programs[program].school] += 1
        for pid, outcome in result.programs.items():
            path = programs[pid].path
            if path in later:  # kept for its stage, with whatever flowed into it
                assert outcome.filled == 0 and outcome.final_capacity >= programs[pid].capacity
            elif path in stage.paths:  # more applicants than seats: every seat it ends with is taken
                assert outcome.filled == outcome.final_capacity
            else:  # its stages are over: no seat stays behind on it
                assert outcome.final_capacity == 0
        for npsn in SCHOOLS:
            ends = sum(o.final_capacity for pid, o in result.programs.items() if programs[pid].school == npsn)
            assert ends == capacity[npsn]  # moved, never made or lost
        confirmed = {npsn: data.draw(st.integers(0, placed[npsn])) for npsn in SCHOOLS}
        capacity = {npsn: capacity[npsn] - confirmed[npsn] for npsn in SCHOOLS}
        confirmed_total += sum(confirmed.values())
    assert confirmed_total + sum(capacity.values()) == start
