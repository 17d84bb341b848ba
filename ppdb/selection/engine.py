"""Pure selection engine: programs, capacities and keyed choices in, one placement per applicant out."""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import operator
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import numpy as np

__all__ = [
    "Applicant",
    "Choice",
    "Instance",
    "InstanceError",
    "Mechanism",
    "Program",
    "ProgramResult",
    "Result",
    "Transfer",
    "assignment_digest",
    "dump_result",
    "load_instance",
    "main",
    "solve",
    "validate",
]

Number = int | float
Mechanism = Literal["deferred_acceptance", "first_choice_priority"]
MECHANISMS: tuple[str, ...] = ("deferred_acceptance", "first_choice_priority")


class Program(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: str
    school: str
    path: str
    capacity: Annotated[int, msgspec.Meta(ge=0)]


class Transfer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    school: str
    from_: str = msgspec.field(name="from")
    to: str


class Choice(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    program: str
    key: list[Number]


class Applicant(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: str
    choices: list[Choice]


class Instance(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, dict=True):
    """A selection problem; treat it as read-only once loaded (load_instance caches derived arrays)."""

    mechanism: Mechanism
    programs: list[Program]
    transfers: list[Transfer] = []
    applicants: list[Applicant]


class ProgramResult(msgspec.Struct, gc=False):
    capacity: int
    final_capacity: int
    filled: int
    cutoff: list[Number] | None


class Result(msgspec.Struct):
    assignments: dict[str, str | None]
    programs: dict[str, ProgramResult]
    digest: str


class InstanceError(ValueError):
    """Invalid instance; `field` is the offending path, e.g. applicants[3].choices[1].program."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class _Head(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    mechanism: Mechanism
    programs: list[Program]
    transfers: list[Transfer] = []
    applicants: msgspec.Raw


_head_decoder = msgspec.json.Decoder(_Head)
_applicants_decoder = msgspec.json.Decoder(list[Applicant])
_encoder = msgspec.json.Encoder()
_AT = re.compile(r"(.*) - at `\$(.*)`", re.DOTALL)
_NAMED = re.compile(r"(?:missing required|unknown) field `([^`]*)`")
# Characters json.dumps (ensure_ascii) writes verbatim inside a string.
_JSON_UNSAFE = re.compile(r"[^ !#-\[\]-~]")
_EXACT_LIMIT = 2.0**53
_DIGEST_CHUNK = 1 << 16
_PROGRAM = operator.attrgetter("program")
_KEY = operator.attrgetter("key")

_gc_lock = threading.Lock()
_gc_depth = 0
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    # Millions of small containers make every cyclic collection walk the whole instance;
    # counted so that overlapping calls from several threads restore the original state.
    global _gc_depth, _gc_was_enabled
    with _gc_lock:
        if _gc_depth == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_was_enabled:
                gc.enable()


def _from_msgspec(exc: msgspec.DecodeError, prefix: str = "") -> InstanceError:
    text = str(exc).replace("\n", " ")
    match = _AT.fullmatch(text)
    if not match:
        return InstanceError("", text)
    message, path = match.group(1), (prefix + match.group(2)).removeprefix(".")
    named = _NAMED.search(message)
    if named:
        path = f"{path}.{named.group(1)}" if path else named.group(1)
    elif message.startswith("Invalid enum value "):
        message = f"unknown {path.rpartition('.')[2]} {message.removeprefix('Invalid enum value ')}"
    return InstanceError(path, message)


def _listed_applicants(programs: list[Program]) -> msgspec.json.Decoder:
    """A decoder for the applicant list that accepts only these program ids in choices."""
    ids = tuple(dict.fromkeys(p.id for p in programs))
    if not ids:
        return _applicants_decoder
    # Decoding against a Literal rejects unknown programs with their path and yields the very
    # program id objects, which saves memory and makes the index lookups identity hits.
    choice = msgspec.defstruct("Choice", [("program", Literal[ids]), ("key", list[Number])], bases=(Choice,))
    applicant = msgspec.defstruct("Applicant", [("id", str), ("choices", list[choice])], bases=(Applicant,))  # type: ignore[valid-type]
    return msgspec.json.Decoder(list[applicant])  # type: ignore[valid-type]


def load_instance(data: bytes) -> Instance:
    """Parse and validate an instance JSON document; raise InstanceError naming the bad field."""
    with _gc_paused():
        try:
            head = _head_decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise _from_msgspec(exc) from None
        checked = _check_programs(head.mechanism, head.programs, head.transfers)
        try:
            applicants = _listed_applicants(head.programs).decode(head.applicants)
        except msgspec.DecodeError as exc:
            raise _from_msgspec(exc, "applicants") from None
        instance = Instance(
            mechanism=head.mechanism,
            programs=head.programs,
            transfers=head.transfers,
            applicants=applicants,
        )
        setattr(instance, "_prepared", _prepare(instance, checked))  # noqa: B010 (not a declared field: never encoded)
    return instance


def validate(instance: Instance) -> None:
    """Check an in-memory instance the way load_instance checks a file."""
    with _gc_paused():
        _prepare(instance)


class _Prepared:
    """Arrays derived once from an instance; capacities are not part of it."""

    __slots__ = (
        "ch_app",
        "ch_prog",
        "columns",
        "gpos",
        "id_order",
        "ids",
        "keys",
        "moves",
        "n_programs",
        "order",
        "pos_app",
        "pos_prog",
        "prog_start",
        "sorted_ids",
        "starts",
    )
    ch_app: np.ndarray
    ch_prog: np.ndarray
    columns: list[np.ndarray]
    gpos: np.ndarray
    id_order: np.ndarray
    ids: list[str]
    keys: list[list[Number]]
    moves: list[tuple[int, int]]
    n_programs: int
    order: np.ndarray  # set by ranking(), on first use
    pos_app: np.ndarray
    pos_prog: np.ndarray
    prog_start: np.ndarray
    sorted_ids: list[str]
    starts: np.ndarray

    def ranking(self) -> None:
        if hasattr(self, "order"):
            return
        id_rank = np.empty(len(self.ids), np.int64)
        id_rank[self.id_order] = np.arange(len(self.ids))
        group = self.ch_prog.astype(np.uint16) if self.n_programs <= 1 << 16 else self.ch_prog
        order = _lexorder(group, [*self.columns, id_rank[self.ch_app]])
        m = len(order)
        self.gpos = np.empty(m, np.int64)
        self.gpos[order] = np.arange(m)
        self.pos_prog = self.ch_prog[order]
        self.pos_app = self.ch_app[order]
        self.prog_start = np.zeros(self.n_programs + 1, np.int64)
        np.cumsum(np.bincount(self.ch_prog, minlength=self.n_programs), out=self.prog_start[1:])
        self.order = order


def _check_programs(
    mechanism: str, programs: list[Program], transfers: list[Transfer]
) -> tuple[dict[str, int], list[tuple[int, int]]]:
    """Program index by id, and transfers as (from, to) program indexes."""
    if mechanism not in MECHANISMS:
        raise InstanceError("mechanism", f"unknown mechanism {mechanism!r}")
    index: dict[str, int] = {}
    by_path: dict[tuple[str, str], int] = {}
    for i, program in enumerate(programs):
        if program.id in index:
            raise InstanceError(f"programs[{i}].id", f"duplicate program id {program.id!r}")
        if (program.school, program.path) in by_path:
            raise InstanceError(
                f"programs[{i}].path",
                f"school {program.school!r} already has a program for path {program.path!r}",
            )
        if program.capacity < 0:
            raise InstanceError(f"programs[{i}].capacity", "capacity must not be negative")
        index[program.id] = by_path[program.school, program.path] = i
    return index, _check_transfers(transfers, by_path)


def _prepare(instance: Instance, checked: tuple[dict[str, int], list[tuple[int, int]]] | None = None) -> _Prepared:
    programs = instance.programs
    index, moves = checked or _check_programs(instance.mechanism, programs, instance.transfers)
    prep = _Prepared()
    prep.n_programs = n_programs = len(programs)
    prep.moves = moves

    applicants = instance.applicants
    n = len(applicants)
    prep.ids = ids = [a.id for a in applicants]
    prep.id_order, prep.sorted_ids, repeated = _sort_ids(ids)
    if repeated:
        seen: set[str] = set()
        for i, applicant_id in enumerate(ids):
            if applicant_id in seen:
                raise InstanceError(f"applicants[{i}].id", f"duplicate applicant id {applicant_id!r}")
            seen.add(applicant_id)

    lists = [a.choices for a in applicants]
    lens = np.fromiter(map(len, lists), np.int64, n)
    prep.starts = starts = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=starts[1:])
    m = int(starts[-1])
    try:
        prep.ch_prog = ch_prog = np.fromiter(
            map(index.__getitem__, map(_PROGRAM, chain.from_iterable(lists))), np.int64, m
        )
    except KeyError:
        for i, applicant in enumerate(applicants):
            for j, choice in enumerate(applicant.choices):
                if choice.program not in index:
                    raise InstanceError(
                        f"applicants[{i}].choices[{j}].program",
                        f"unknown program {choice.program!r}",
                    ) from None
        raise
    prep.ch_app = ch_app = np.repeat(np.arange(n, dtype=np.int64), lens)
    if _repeats_a_program(ch_app, ch_prog, int(lens.max()) if n else 0, n_programs):
        for i, applicant in enumerate(applicants):
            listed: set[str] = set()
            for j, choice in enumerate(applicant.choices):
                if choice.program in listed:
                    raise InstanceError(
                        f"applicants[{i}].choices[{j}].program",
                        f"program {choice.program!r} is already on this applicant's list",
                    )
                listed.add(choice.program)

    prep.keys = keys = list(map(_KEY, chain.from_iterable(lists)))
    prep.columns = _key_columns(keys, ch_prog, starts, programs)
    return prep


def _sort_ids(ids: list[str]) -> tuple[np.ndarray, list[str], bool]:
    """Permutation sorting the ids in Python string order, the sorted ids, and whether any repeats."""
    longest = max(map(len, ids), default=0)
    if longest <= 32 and "\0" not in "".join(ids):
        # numpy compares code points like Python but drops trailing NULs, hence the guard.
        array = np.array(ids, dtype=f"<U{max(longest, 1)}")
        order = np.argsort(array, kind="stable")
        array = array[order]
        return order, array.tolist(), bool((array[1:] == array[:-1]).any())
    by_id = sorted(range(len(ids)), key=ids.__getitem__)
    ordered = list(map(ids.__getitem__, by_id))
    return np.array(by_id, np.int64), ordered, any(map(operator.eq, ordered, ordered[1:]))


def _repeats_a_program(ch_app: np.ndarray, ch_prog: np.ndarray, longest: int, n_programs: int) -> bool:
    if longest <= 8:
        # Lists are short: compare each choice with the few before it.
        return any(((ch_app[d:] == ch_app[:-d]) & (ch_prog[d:] == ch_prog[:-d])).any() for d in range(1, longest))
    pairs = np.sort(ch_app * max(n_programs, 1) + ch_prog)
    return bool((pairs[1:] == pairs[:-1]).any())


def _check_transfers(transfers: Sequence[Transfer], by_path: dict[tuple[str, str], int]) -> list[tuple[int, int]]:
    moves: list[tuple[int, int]] = []
    for i, transfer in enumerate(transfers):
        ends = []
        for name, path in (("from", transfer.from_), ("to", transfer.to)):
            program = by_path.get((transfer.school, path))
            if program is None:
                raise InstanceError(f"transfers[{i}].{name}", f"no program {transfer.school}:{path}")
            ends.append(program)
        moves.append((ends[0], ends[1]))
    # A cycle would pass unused seats around forever.
    successors: dict[int, list[int]] = {}
    for src, dst in moves:
        successors.setdefault(src, []).append(dst)
    for i, (src, dst) in enumerate(moves):
        stack, seen = [dst], {dst}
        while stack:
            node = stack.pop()
            if node == src:
                raise InstanceError(f"transfers[{i}]", "transfers form a cycle")
            for nxt in successors.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return moves


def _key_columns(
    keys: list[list[Number]], ch_prog: np.ndarray, starts: np.ndarray, programs: list[Program]
) -> list[np.ndarray]:
    m = len(keys)
    klen = np.fromiter(map(len, keys), np.int64, m)
    width = int(klen.max()) if m else 0
    if m and int(klen.min()) != width:
        programs_seen, first = np.unique(ch_prog, return_index=True)
        expected = np.zeros(len(programs), np.int64)
        expected[programs_seen] = klen[first]
        bad = np.flatnonzero(klen != expected[ch_prog])
        if bad.size:
            c = int(bad[0])
            i = int(np.searchsorted(starts, c, side="right")) - 1
            raise InstanceError(
                f"applicants[{i}].choices[{c - int(starts[i])}].key",
                f"key has {klen[c]} numbers, other keys for program "
                f"{programs[ch_prog[c]].id!r} have {expected[ch_prog[c]]}",
            )
    total = int(klen.sum())
    try:
        flat = np.fromiter(chain.from_iterable(keys), np.float64, total)
        big = (
            np.flatnonzero(np.abs(flat) >= _EXACT_LIMIT)
            if total and max(flat.max(), -flat.min()) >= _EXACT_LIMIT
            else np.empty(0, np.int64)
        )
        exact = not len(big) or not any(
            type(v) is int for v in map(list(chain.from_iterable(keys)).__getitem__, big.tolist())
        )
    except OverflowError:
        exact = False
    if not exact:
        # Integers beyond 2**53 would collide as floats: rank each column exactly instead.
        columns = []
        for j in range(width):
            values = [k[j] if j < len(k) else 0 for k in keys]
            rank = {v: r for r, v in enumerate(sorted(set(values)))}
            columns.append(np.fromiter(map(rank.__getitem__, values), np.float64, m))
        return columns
    if total == m * width:
        matrix = flat.reshape(m, width)
    else:
        # Shorter keys belong to other programs and never meet these; pad them with zeros.
        matrix = np.zeros((m, width))
        kstart = np.cumsum(klen) - klen
        matrix[np.repeat(np.arange(m), klen), np.arange(total) - np.repeat(kstart, klen)] = flat
    return [matrix[:, j] for j in range(width)]


def _lexorder(group: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
    """Rows ordered by (group, *columns); the last column must be unique within a group."""
    first = columns[0]
    order = np.argsort(first)
    order = order[np.argsort(group[order], kind="stable")]
    m = len(order)
    if m < 2:
        return order
    # Sort on the first column, then re-sort only runs still tied, column by column.
    start = np.empty(m, bool)
    start[0] = True
    g, v = group[order], first[order]
    start[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    for column in columns[1:]:
        tied = ~start
        tied[:-1] |= ~start[1:]
        pos = np.flatnonzero(tied)
        if not pos.size:
            break
        rows = order[pos]
        segment = np.cumsum(start)[pos]
        v = column[rows]
        perm = np.argsort(v)
        perm = perm[np.argsort(segment[perm], kind="stable")]
        order[pos] = rows[perm]
        v = v[perm]
        start[pos[1:]] |= v[1:] != v[:-1]
    return order


def _deferred_acceptance(prep: _Prepared, cap: np.ndarray) -> np.ndarray:
    """Held position per applicant (-1: unplaced); each program keeps the positions below thr."""
    starts, ends = prep.starts[:-1], prep.starts[1:]
    gpos, ch_prog, prog_start = prep.gpos, prep.ch_prog, prep.prog_start
    n, n_programs = len(starts), prep.n_programs
    thr = np.where(cap > 0, prog_start[1:], prog_start[:-1])
    occupied = np.zeros(len(gpos), bool)
    count = np.zeros(n_programs, np.int64)
    held = np.full(n, -1, np.int64)
    a = np.flatnonzero(ends > starts)
    c = starts[a]
    while a.size:
        # Skip choices whose program already turned away someone ranked better.
        took_a, took_c = [], []
        while a.size:
            ok = gpos[c] < thr[ch_prog[c]]
            took_a.append(a[ok])
            took_c.append(c[ok])
            a, c = a[~ok], c[~ok] + 1
            live = c < ends[a]
            a, c = a[live], c[live]
        a, c = np.concatenate(took_a), np.concatenate(took_c)
        g = gpos[c]
        occupied[g] = True
        held[a] = g
        count += np.bincount(ch_prog[c], minlength=n_programs)
        over = np.flatnonzero(count > cap)
        if not over.size:
            break
        lo, size = prog_start[over], thr[over] - prog_start[over]
        offset = np.cumsum(size) - size
        idx = np.arange(int(size.sum())) + np.repeat(lo - offset, size)
        occ = occupied[idx]
        within = np.cumsum(occ)
        within -= np.repeat(within[offset] - occ[offset], size)
        limit = np.repeat(cap[over], size)
        out = idx[occ & (within > limit)]
        thr[over] = idx[occ & (within == limit + 1)]
        count[over] = cap[over]
        occupied[out] = False
        a = prep.pos_app[out]
        held[a] = -1
        c = prep.order[out] + 1
        live = c < ends[a]
        a, c = a[live], c[live]
    return held


def _first_choice_priority(prep: _Prepared, cap: np.ndarray) -> np.ndarray:
    starts, ends = prep.starts[:-1], prep.starts[1:]
    held = np.full(len(starts), -1, np.int64)
    left = cap.copy()
    a = np.flatnonzero(ends > starts)
    rank = 0
    while a.size:
        g = np.sort(prep.gpos[starts[a] + rank])
        a, p = prep.pos_app[g], prep.pos_prog[g]
        head = np.flatnonzero(np.concatenate(([True], p[1:] != p[:-1])))
        nth = np.arange(len(g)) - np.repeat(head, np.diff(np.append(head, len(g))))
        ok = nth < left[p]
        held[a[ok]] = g[ok]
        left -= np.bincount(p[ok], minlength=prep.n_programs)
        rank += 1
        a = a[~ok]
        a = a[ends[a] - starts[a] > rank]
    return held


def move_spare_seats(caps: list[int], filled: list[int], moves: Sequence[tuple[int, int]]) -> bool:
    """One round of seat transfers: a source's unfilled seats go to its target; whether any seat moved."""
    moved = False
    for src, dst in moves:
        spare = caps[src] - filled[src]
        if spare > 0:
            caps[dst] += spare
            caps[src] = filled[src]
            moved = True
    return moved


def solve(instance: Instance) -> Result:
    """Place every applicant: run the mechanism, move unused seats, repeat until none move."""
    with _gc_paused():
        prep = getattr(instance, "_prepared", None) or _prepare(instance)
        prep.ranking()
        run = _deferred_acceptance if instance.mechanism == "deferred_acceptance" else _first_choice_priority
        programs = instance.programs
        capacity = [p.capacity for p in programs]
        cap = np.array(capacity, np.int64)
        while True:
            held = run(prep, cap)
            placed = held[held >= 0]
            filled = np.bincount(prep.pos_prog[placed], minlength=prep.n_programs).tolist()
            caps = cap.tolist()
            if not move_spare_seats(caps, filled, prep.moves):
                break
            cap = np.array(caps, np.int64)
        return _result(prep, programs, capacity, caps, filled, held)


def _result(
    prep: _Prepared,
    programs: list[Program],
    capacity: list[int],
    final: list[int],
    filled: list[int],
    held: np.ndarray,
) -> Result:
    program_ids = [p.id for p in programs]
    names: list[str | None] = [*program_ids, None]  # index -1: unplaced
    placed = np.sort(held[held >= 0])
    at_prog = prep.pos_prog[placed]
    last = np.flatnonzero(np.append(at_prog[1:] != at_prog[:-1], True)) if placed.size else placed
    cutoff_choice = np.full(prep.n_programs, -1, np.int64)
    cutoff_choice[at_prog[last]] = prep.order[placed[last]]
    program_of = np.full(len(held), -1, np.int64)
    program_of[held >= 0] = prep.pos_prog[held[held >= 0]]
    sorted_programs = program_of[prep.id_order].tolist()
    values = list(map(names.__getitem__, sorted_programs))
    assignments = dict(zip(prep.sorted_ids, values, strict=False))
    table = {
        programs[k].id: ProgramResult(
            capacity=capacity[k],
            final_capacity=final[k],
            filled=filled[k],
            cutoff=prep.keys[c] if c >= 0 else None,
        )
        for k, c in sorted(enumerate(cutoff_choice.tolist()), key=lambda kc: programs[kc[0]].id)
    }
    digest = _digest(prep.sorted_ids, values, program_ids)
    return Result(assignments=assignments, programs=table, digest=digest)


def _digest(sorted_ids: list[str], values: list[str | None], program_ids: list[str]) -> str:
    """sha256 of json.dumps(sorted(assignments.items()), separators=(",", ":")), in chunks."""
    if _JSON_UNSAFE.search("".join(sorted_ids)) or _JSON_UNSAFE.search("".join(program_ids)):

        def encode(pairs):
            return json.dumps(pairs, separators=(",", ":")).encode()
    else:
        # Without characters to escape msgspec writes the same bytes as json.dumps, faster.
        encode = _encoder.encode
    digest = hashlib.sha256(b"[")
    for k in range(0, len(sorted_ids), _DIGEST_CHUNK):
        if k:
            digest.update(b",")
        digest.update(
            encode(list(zip(sorted_ids[k : k + _DIGEST_CHUNK], values[k : k + _DIGEST_CHUNK], strict=False)))[1:-1]
        )
    digest.update(b"]")
    return digest.hexdigest()


def assignment_digest(assignments: dict[str, str | None]) -> str:
    """The published digest, computed the way the contract states it."""
    text = json.dumps(sorted(assignments.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def dump_result(result: Result) -> bytes:
    """The result as JSON bytes (assignments sorted by applicant id, programs by id)."""
    return _encoder.encode(result)


def main(argv: list[str] | None = None) -> int:
    """`solve INSTANCE.json [-o RESULT.json]`: exit 0, or 2 with a one-line error."""
    parser = argparse.ArgumentParser(prog="ppdb selection solve", description="Solve a selection instance.")
    parser.add_argument("instance", help="instance JSON file, or - for standard input")
    parser.add_argument("-o", "--output", help="write the result here instead of standard output")
    args = parser.parse_args(argv)
    try:
        data = sys.stdin.buffer.read() if args.instance == "-" else Path(args.instance).read_bytes()
        result = solve(load_instance(data))
    except InstanceError as err:
        print(f"error: invalid instance: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: cannot read {args.instance}: {err.strerror}", file=sys.stderr)
        return 2
    body = dump_result(result)
    if args.output:
        Path(args.output).write_bytes(body)
    else:
        sys.stdout.buffer.write(body + b"\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
