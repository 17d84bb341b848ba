"""Exact-value tests of the selection engine: worked examples, digest, cut-offs, validation, CLI."""

from __future__ import annotations

import hashlib
import json

import msgspec
import pytest

from ppdb.selection import engine
from ppdb.selection.engine import InstanceError, dump_result, load_instance, main, solve


def program(pid: str, capacity: int) -> dict:
    school, path = pid.split(":")
    return {"id": pid, "school": school, "path": path, "capacity": capacity}


def applicant(aid: str, *choices: tuple[str, list]) -> dict:
    return {"id": aid, "choices": [{"program": p, "key": k} for p, k in choices]}


def doc(programs, applicants, mechanism="deferred_acceptance", transfers=()) -> dict:
    return {
        "mechanism": mechanism,
        "programs": list(programs),
        "transfers": [{"school": s, "from": f, "to": t} for s, f, t in transfers],
        "applicants": list(applicants),
    }


def run(document: dict) -> engine.Result:
    return solve(load_instance(msgspec.json.encode(document)))


# P1 ranks C before A, P2 ranks A before B; A lists P1 then P2.
CROSSED = doc(
    [program("S1:x", 1), program("S2:x", 1)],
    [
        applicant("A", ("S1:x", [5]), ("S2:x", [1])),
        applicant("B", ("S2:x", [2])),
        applicant("C", ("S1:x", [3])),
    ],
)


def test_deferred_acceptance_worked_example():
    # A is turned away by S1 (C ranks better) and displaces B at S2.
    result = run(CROSSED)
    assert result.assignments == {"A": "S2:x", "B": None, "C": "S1:x"}
    assert result.programs["S1:x"] == engine.ProgramResult(1, 1, 1, [3])
    assert result.programs["S2:x"] == engine.ProgramResult(1, 1, 1, [1])


def test_first_choice_priority_worked_example():
    # B's first choice is settled in round 1, before A reaches S2 in round 2.
    result = run({**CROSSED, "mechanism": "first_choice_priority"})
    assert result.assignments == {"A": None, "B": "S2:x", "C": "S1:x"}
    assert result.programs["S2:x"].cutoff == [2]


def test_rejection_chain_and_cutoffs():
    document = doc(
        [program("S1:d", 2), program("S2:d", 1), program("S3:d", 1)],
        [
            applicant("A", ("S1:d", [10.5, -4400])),
            applicant("B", ("S1:d", [20, -4012]), ("S2:d", [5, -4012])),
            applicant("C", ("S1:d", [1, -4500])),
            applicant("D", ("S2:d", [7, -4100]), ("S3:d", [9, -4100])),
        ],
    )
    result = run(document)
    assert result.assignments == {"A": "S1:d", "B": "S2:d", "C": "S1:d", "D": "S3:d"}
    assert result.programs["S1:d"].cutoff == [10.5, -4400]
    assert result.programs["S2:d"].cutoff == [5, -4012]
    body = json.loads(dump_result(result))
    assert body["programs"]["S2:d"] == {
        "capacity": 1,
        "final_capacity": 1,
        "filled": 1,
        "cutoff": [5, -4012],
    }
    # Integers stay integers in the published cut-off.
    assert b'"cutoff":[5,-4012]' in dump_result(result)


def test_cutoff_is_null_for_an_empty_program_and_zero_capacity():
    document = doc(
        [program("S1:d", 0), program("S2:d", 3)],
        [applicant("A", ("S1:d", [1]))],
    )
    result = run(document)
    assert result.assignments == {"A": None}
    assert result.programs["S1:d"] == engine.ProgramResult(0, 0, 0, None)
    assert result.programs["S2:d"] == engine.ProgramResult(3, 3, 0, None)
    assert json.loads(dump_result(result))["programs"]["S2:d"]["cutoff"] is None


def test_ties_are_broken_by_applicant_id():
    document = doc(
        [program("S1:d", 1)],
        [applicant(aid, ("S1:d", [100, 1.0])) for aid in ("b", "B", "a", "ab")],
    )
    # "B" < "a" < "ab" < "b" in code-point order.
    assert run(document).assignments == {"B": "S1:d", "a": None, "ab": None, "b": None}


def test_equal_int_and_float_keys_tie():
    document = doc(
        [program("S1:d", 1)],
        [applicant("Z", ("S1:d", [1, 2])), applicant("Y", ("S1:d", [1.0, 2.0]))],
    )
    assert run(document).assignments["Y"] == "S1:d"


def test_integer_keys_beyond_float_precision_compare_exactly():
    big = 2**60
    document = doc(
        [program("S1:d", 1)],
        [applicant("A", ("S1:d", [big + 1])), applicant("B", ("S1:d", [float(big)]))],
    )
    result = run(document)
    assert result.assignments == {"A": None, "B": "S1:d"}
    assert result.programs["S1:d"].cutoff == [float(big)]


def test_key_lengths_may_differ_between_programs():
    document = doc(
        [program("S1:d", 1), program("S1:p", 1)],
        [
            applicant("A", ("S1:d", [3, 1, 1]), ("S1:p", [-90])),
            applicant("B", ("S1:d", [2, 9, 9]), ("S1:p", [-80])),
        ],
    )
    assert run(document).assignments == {"A": "S1:p", "B": "S1:d"}


def test_unused_seats_move_and_the_run_repeats_until_none_move():
    # Run 1: B falls back to afirmasi, so one afirmasi seat moves to domisili.
    # Run 2: B now fits in domisili, leaving afirmasi empty: its last seat moves too.
    # Run 3: nothing left to move.
    document = doc(
        [program("S1:domisili", 1), program("S1:afirmasi", 2)],
        [
            applicant("A", ("S1:domisili", [1])),
            applicant("B", ("S1:domisili", [2]), ("S1:afirmasi", [1])),
        ],
        transfers=[("S1", "afirmasi", "domisili")],
    )
    result = run(document)
    assert result.assignments == {"A": "S1:domisili", "B": "S1:domisili"}
    assert result.programs["S1:domisili"] == engine.ProgramResult(1, 3, 2, [2])
    assert result.programs["S1:afirmasi"] == engine.ProgramResult(2, 0, 0, None)


def test_transfers_apply_in_list_order_within_one_pass():
    # mutasi's two seats reach prestasi first, then prestasi's spare seats reach domisili.
    document = doc(
        [program("S:mutasi", 2), program("S:prestasi", 1), program("S:domisili", 1)],
        [applicant("P", ("S:prestasi", [-90]))] + [applicant(f"D{i}", ("S:domisili", [i])) for i in range(4)],
        transfers=[("S", "mutasi", "prestasi"), ("S", "prestasi", "domisili")],
    )
    result = run(document)
    assert {p: (r.final_capacity, r.filled) for p, r in result.programs.items()} == {
        "S:domisili": (3, 3),
        "S:mutasi": (0, 0),
        "S:prestasi": (1, 1),
    }
    assert result.assignments["D3"] is None
    # In the other order prestasi has no spare seat yet when its transfer is applied.
    swapped = {**document, "transfers": document["transfers"][::-1]}
    result = run(swapped)
    assert result.programs["S:domisili"].final_capacity == 3
    assert result.programs["S:prestasi"].final_capacity == 1


def test_digest_formula():
    result = run(CROSSED)
    text = '[["A","S2:x"],["B",null],["C","S1:x"]]'
    assert result.digest == hashlib.sha256(text.encode()).hexdigest()
    assert result.digest == engine.assignment_digest(result.assignments)


def test_digest_escapes_like_json_dumps():
    ids = ["Ānanda", 'quo"te', "back\\slash", "tab\t", "del\x7f", "plain"]
    document = doc(
        [program("S1:é", 2)],
        [applicant(aid, ("S1:é", [i])) for i, aid in enumerate(ids)],
    )
    result = run(document)
    assert result.digest == engine.assignment_digest(result.assignments)


def test_digest_of_a_large_instance_spans_several_chunks():
    n = 3 * (1 << 16) + 5
    document = doc(
        [program("S1:d", n // 2)],
        [applicant(f"A{i:06d}", ("S1:d", [i % 7])) for i in range(n)],
    )
    result = run(document)
    assert result.digest == engine.assignment_digest(result.assignments)
    assert result.programs["S1:d"].filled == n // 2


def test_empty_instance():
    result = run(doc([], []))
    assert result.assignments == {} and result.programs == {}
    assert result.digest == hashlib.sha256(b"[]").hexdigest()


def test_applicant_without_choices_is_unplaced():
    result = run(doc([program("S1:d", 1)], [applicant("A")]))
    assert result.assignments == {"A": None}


def test_solve_accepts_an_instance_built_in_memory():
    built = engine.Instance(
        mechanism="deferred_acceptance",
        programs=[engine.Program("S1:x", "S1", "x", 1), engine.Program("S2:x", "S2", "x", 1)],
        applicants=[
            engine.Applicant("A", [engine.Choice("S1:x", [5]), engine.Choice("S2:x", [1])]),
            engine.Applicant("B", [engine.Choice("S2:x", [2])]),
            engine.Applicant("C", [engine.Choice("S1:x", [3])]),
        ],
    )
    assert solve(built) == run(CROSSED)
    with pytest.raises(InstanceError) as raised:
        engine.validate(msgspec.structs.replace(built, programs=[engine.Program("S1:x", "S1", "x", -1)]))
    assert raised.value.field == "programs[0].capacity"


def test_result_lists_applicants_and_programs_in_id_order():
    document = doc(
        [program("S2:x", 1), program("S1:x", 1)],
        [applicant("b", ("S1:x", [1])), applicant("a", ("S2:x", [1]))],
    )
    body = dump_result(run(document)).decode()
    assert body.index('"a"') < body.index('"b"')
    assert body.index('"S1:x":{') < body.index('"S2:x":{')
    assert list(json.loads(body)) == ["assignments", "programs", "digest"]


VALID = doc(
    [program("S1:a", 1), program("S1:b", 2)],
    [applicant("A", ("S1:a", [1, 2]), ("S1:b", [3])), applicant("B", ("S1:b", [4]))],
    transfers=[("S1", "a", "b")],
)


def changed(path: str, value) -> bytes:
    """VALID with one value replaced, addressed like a field name."""
    document = json.loads(json.dumps(VALID))
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return json.dumps(document).encode()


INVALID = {
    "unknown program": (
        changed("applicants[1].choices[0].program", "S9:a"),
        "applicants[1].choices[0].program",
    ),
    "duplicate program in a list": (
        changed("applicants[0].choices[1].program", "S1:a"),
        "applicants[0].choices[1].program",
    ),
    "negative capacity": (changed("programs[1].capacity", -1), "programs[1].capacity"),
    "unequal key lengths": (
        changed("applicants[1].choices[0].key", [4, 5]),
        "applicants[1].choices[0].key",
    ),
    "duplicate applicant id": (changed("applicants[1].id", "A"), "applicants[1].id"),
    "unknown mechanism": (changed("mechanism", "boston"), "mechanism"),
    "transfer from a missing program": (changed("transfers[0].from", "z"), "transfers[0].from"),
    "transfer to a missing program": (changed("transfers[0].to", "z"), "transfers[0].to"),
    "transfer at a missing school": (changed("transfers[0].school", "S9"), "transfers[0].from"),
    "transfer cycle": (
        changed("transfers", [{"school": "S1", "from": "b", "to": "b"}]),
        "transfers[0]",
    ),
    "duplicate program id": (changed("programs[1].id", "S1:a"), "programs[1].id"),
    "wrong type": (changed("programs[0].capacity", "ten"), "programs[0].capacity"),
    "non-number in a key": (
        changed("applicants[0].choices[0].key", [1, True]),
        "applicants[0].choices[0].key[1]",
    ),
    "missing field": (
        changed("programs[0]", {"id": "S1:a", "school": "S1", "path": "a"}),
        "programs[0].capacity",
    ),
    "unknown field": (
        changed("applicants[0].choices[0]", {"program": "S1:a", "key": [], "x": 1}),
        "applicants[0].choices[0].x",
    ),
    "malformed JSON": (b'{"mechanism": "deferred_acceptance",', ""),
}


@pytest.mark.parametrize("data, field", INVALID.values(), ids=INVALID.keys())
def test_invalid_instance_names_the_field(data, field, tmp_path, capsys):
    with pytest.raises(InstanceError) as raised:
        load_instance(data)
    assert raised.value.field == field
    assert field in str(raised.value) and "\n" not in str(raised.value)

    path = tmp_path / "instance.json"
    path.write_bytes(data)
    assert main([str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and field in err


def test_valid_instance_round_trips_through_the_command(tmp_path, capsys):
    path = tmp_path / "instance.json"
    path.write_bytes(json.dumps(VALID).encode())
    assert main([str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(dump_result(run(VALID)))

    target = tmp_path / "result.json"
    assert main([str(path), "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert target.read_bytes() == dump_result(run(VALID))


def test_missing_file_exits_2(tmp_path, capsys):
    assert main([str(tmp_path / "absent.json")]) == 2
    assert "absent.json" in capsys.readouterr().err
