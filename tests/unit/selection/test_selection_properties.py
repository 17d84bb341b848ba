"""Property-based tests of the selection engine on random small instances."""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict

import msgspec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ppdb.selection import bench, engine

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATHS = ("a", "b", "c")
# Few distinct values, ints and floats mixed, so that keys often tie.
VALUES = st.sampled_from([0, 1, 2, -1, 0.5, 1.0, -0.0])


@st.composite
def instances(draw, mechanism: str | None = None, transfers: bool = True) -> dict:
    programs = []
    for s in range(draw(st.integers(1, 3))):
        for path in sorted(draw(st.lists(st.sampled_from(PATHS), min_size=1, unique=True))):
            programs.append(
                {
                    "id": f"S{s}:{path}",
                    "school": f"S{s}",
                    "path": path,
                    "capacity": draw(st.integers(0, 3)),
                }
            )
    width = {p["id"]: draw(st.integers(0, 2)) for p in programs}
    ids = draw(st.lists(st.text("ABab", min_size=1, max_size=3), max_size=10, unique=True))
    applicants = []
    for aid in ids:
        listed = draw(st.permutations([p["id"] for p in programs]))
        listed = listed[: draw(st.integers(0, len(listed)))]
        applicants.append(
            {
                "id": aid,
                "choices": [
                    {
                        "program": pid,
                        "key": draw(st.lists(VALUES, min_size=width[pid], max_size=width[pid])),
                    }
                    for pid in listed
                ],
            }
        )
    moves = []
    if transfers:
        # Seats only move towards a later path, so transfers never form a cycle.
        for s in sorted({p["school"] for p in programs}):
            paths = [p["path"] for p in programs if p["school"] == s]
            pairs = [(f, t) for i, f in enumerate(paths) for t in paths[i + 1 :]]
            chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
            moves += [{"school": s, "from": f, "to": t} for f, t in chosen]
        moves = draw(st.permutations(moves))
    return {
        "mechanism": mechanism or draw(st.sampled_from(engine.MECHANISMS)),
        "programs": programs,
        "transfers": list(moves),
        "applicants": applicants,
    }


def solve(document: dict) -> engine.Result:
    return engine.solve(engine.load_instance(msgspec.json.encode(document)))


def priority(document: dict) -> dict[tuple[str, str], tuple]:
    """(applicant, program) -> comparable priority; smaller is better."""
    return {(a["id"], c["program"]): (tuple(c["key"]), a["id"]) for a in document["applicants"] for c in a["choices"]}


def holders(result: engine.Result) -> dict[str, list[str]]:
    held = defaultdict(list)
    for aid, pid in result.assignments.items():
        if pid is not None:
            held[pid].append(aid)
    return held


def check_feasible(document: dict, result: engine.Result) -> None:
    listed = {a["id"]: [c["program"] for c in a["choices"]] for a in document["applicants"]}
    assert set(result.assignments) == set(listed)
    for aid, pid in result.assignments.items():
        assert pid is None or pid in listed[aid]
    held = holders(result)
    rank = priority(document)
    assert set(result.programs) == {p["id"] for p in document["programs"]}
    for p in document["programs"]:
        out = result.programs[p["id"]]
        assert out.capacity == p["capacity"]
        assert out.filled == len(held[p["id"]]) <= out.final_capacity
        worst = max((rank[h, p["id"]] for h in held[p["id"]]), default=None)
        assert out.cutoff == (None if worst is None else list(worst[0]))
    # Transfers move seats, never create or destroy them.
    assert sum(r.final_capacity for r in result.programs.values()) == sum(p["capacity"] for p in document["programs"])
    if not document["transfers"]:
        assert all(r.final_capacity == r.capacity for r in result.programs.values())


def blocking(document: dict, result: engine.Result, *, free_seats_only: bool) -> list:
    """(applicant, program) pairs where the applicant prefers the program and could take a seat."""
    held, rank, found = holders(result), priority(document), []
    for a in document["applicants"]:
        listed = [c["program"] for c in a["choices"]]
        placed = result.assignments[a["id"]]
        for pid in listed[: listed.index(placed)] if placed else listed:
            if len(held[pid]) < result.programs[pid].final_capacity:
                found.append((a["id"], pid, "free seat"))
            elif not free_seats_only and any(rank[a["id"], pid] < rank[h, pid] for h in held[pid]):
                found.append((a["id"], pid, "worse key held"))
    return found


@SETTINGS
@given(instances())
def test_feasible(document):
    check_feasible(document, solve(document))


@SETTINGS
@given(instances(mechanism="deferred_acceptance"))
def test_deferred_acceptance_is_stable(document):
    assert blocking(document, solve(document), free_seats_only=False) == []


@SETTINGS
@given(instances(mechanism="first_choice_priority"))
def test_first_choice_priority_is_non_wasteful(document):
    assert blocking(document, solve(document), free_seats_only=True) == []


@SETTINGS
@given(instances(), st.randoms(use_true_random=False))
def test_same_result_whatever_the_order_in_the_file(document, rnd):
    shuffled = copy.deepcopy(document)
    rnd.shuffle(shuffled["applicants"])
    rnd.shuffle(shuffled["programs"])
    assert engine.dump_result(solve(shuffled)) == engine.dump_result(solve(document))


@SETTINGS
@given(instances(mechanism="deferred_acceptance", transfers=False), st.data())
def test_no_applicant_gains_by_reordering_or_truncating(document, data):
    assume(document["applicants"])
    who = data.draw(st.integers(0, len(document["applicants"]) - 1))
    truth = document["applicants"][who]
    listed = [c["program"] for c in truth["choices"]]
    lie = data.draw(st.permutations(truth["choices"]))
    lie = lie[: data.draw(st.integers(0, len(lie)))]
    manipulated = copy.deepcopy(document)
    manipulated["applicants"][who] = {"id": truth["id"], "choices": list(lie)}
    honest = solve(document).assignments[truth["id"]]
    gained = solve(manipulated).assignments[truth["id"]]
    if gained is not None:
        assert honest is not None and listed.index(honest) <= listed.index(gained)


@SETTINGS
@given(instances(mechanism="first_choice_priority"))
def test_first_choice_priority_is_deferred_acceptance_on_rank_prefixed_keys(document):
    prefixed = copy.deepcopy(document)
    prefixed["mechanism"] = "deferred_acceptance"
    for a in prefixed["applicants"]:
        for rank, c in enumerate(a["choices"]):
            c["key"] = [rank, *c["key"]]
    ours, theirs = solve(document), solve(prefixed)
    assert ours.assignments == theirs.assignments and ours.digest == theirs.digest


@SETTINGS
@given(instances(transfers=False), st.data())
def test_more_seats_never_place_fewer_applicants_there(document, data):
    target = data.draw(st.integers(0, len(document["programs"]) - 1))
    more = copy.deepcopy(document)
    more["programs"][target]["capacity"] += data.draw(st.integers(1, 3))
    pid = document["programs"][target]["id"]
    assert solve(more).programs[pid].filled >= solve(document).programs[pid].filled


@SETTINGS
@given(instances())
def test_moving_unused_seats_into_a_program_never_places_fewer_there(document):
    # One transfer only: with several, another program's new seats may draw applicants away.
    assume(document["transfers"])
    move = document["transfers"][0]
    target = f"{move['school']}:{move['to']}"
    before = solve({**document, "transfers": []}).programs[target].filled
    assert solve({**document, "transfers": [move]}).programs[target].filled >= before


@SETTINGS
@given(instances(mechanism="deferred_acceptance"))
def test_agrees_with_the_plain_heap_baseline(document):
    assert solve(document).digest == bench.baseline_solve(copy.deepcopy(document))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(mechanism="deferred_acceptance", transfers=False))
def test_agrees_with_the_matching_library(document):
    from matching.games import HospitalResident

    capacity = {p["id"]: p["capacity"] for p in document["programs"]}
    rank = priority(document)
    # matching wants strict, non-empty lists and positive capacities.
    residents = {
        a["id"]: [c["program"] for c in a["choices"] if capacity[c["program"]] > 0] for a in document["applicants"]
    }
    residents = {r: prefs for r, prefs in residents.items() if prefs}
    hospitals = defaultdict(list)
    for r, prefs in residents.items():
        for h in prefs:
            hospitals[h].append(r)
    hospitals = {h: sorted(rs, key=lambda r, h=h: rank[r, h]) for h, rs in hospitals.items()}
    expected = {a["id"]: None for a in document["applicants"]}
    if residents:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            game = HospitalResident.create_from_dictionaries(residents, hospitals, {h: capacity[h] for h in hospitals})
            matching = game.solve(optimal="resident")
        for hospital in matching:
            for resident in matching[hospital]:
                expected[resident.name] = hospital.name
    assert solve(document).assignments == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2)), max_size=60))
def test_ranking_matches_a_plain_sort(rows):
    import numpy as np

    group = np.array([r[0] for r in rows], np.uint16)
    columns = [np.array([r[1] for r in rows], float), np.array([r[2] for r in rows], float)]
    tie = np.arange(len(rows))[::-1].copy()
    order = engine._lexorder(group, [*columns, tie])
    expected = sorted(range(len(rows)), key=lambda i: (rows[i], tie[i]))
    assert order.tolist() == expected


def test_agrees_with_the_baseline_on_mid_sized_instances():
    # Thousands of applicants make long rejection chains and several transfer passes.
    for seed, (applicants, choices, programs) in enumerate([(3000, 3, 40), (2000, 6, 16), (1500, 2, 400), (500, 4, 8)]):
        data = bench.build_instance(applicants, choices, programs, seed)
        document = msgspec.json.decode(data)
        result = engine.solve(engine.load_instance(data))
        assert result.digest == bench.baseline_solve(document)
        check_feasible(document, result)
        assert blocking(document, result, free_seats_only=False) == []


def test_first_choice_priority_on_a_mid_sized_instance():
    document = msgspec.json.decode(bench.build_instance(3000, 4, 40, 7))
    document["mechanism"] = "first_choice_priority"
    result = solve(document)
    check_feasible(document, result)
    assert blocking(document, result, free_seats_only=True) == []
    for a in document["applicants"]:
        for rank, c in enumerate(a["choices"]):
            c["key"] = [rank, *c["key"]]
    document["mechanism"] = "deferred_acceptance"
    assert solve(document).digest == result.digest
