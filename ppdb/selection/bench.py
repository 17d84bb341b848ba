"""Selection benchmark: the engine against a plain heap-based deferred acceptance on one instance."""

from __future__ import annotations

import argparse
import gc
import hashlib
import heapq
import json
import os
import time

import msgspec
import numpy as np

from ppdb.selection import engine

PATHS = ("domisili", "afirmasi", "mutasi", "prestasi")
PATH_SHARE = (0.50, 0.20, 0.05, 0.25)
TRANSFERS = (("mutasi", "prestasi"), ("afirmasi", "domisili"), ("prestasi", "domisili"))
CELL_M = 2000.0


def build_instance(applicants: int, choices: int, programs: int, seed: int) -> bytes:
    """A synthetic province: schools on a grid, applicants choosing nearby schools on one path."""
    rng = np.random.default_rng(seed)
    n_schools = max(1, programs // len(PATHS))
    cols = int(np.ceil(np.sqrt(n_schools)))
    sx = (np.arange(n_schools) % cols + rng.random(n_schools)) * CELL_M
    sy = (np.arange(n_schools) // cols + rng.random(n_schools)) * CELL_M
    # Seats for about 90% of applicants, unevenly spread so that some schools are oversubscribed.
    seats = applicants * 0.9 / n_schools * rng.uniform(0.5, 1.5, n_schools)
    schools = [str(20100000 + s) for s in range(n_schools)]
    program_list, names = [], []
    for s, school in enumerate(schools):
        quota = np.floor(seats[s] * np.array(PATH_SHARE)).astype(int).tolist()
        for path_name, capacity in zip(PATHS, quota, strict=False):
            names.append(f"{school}:{path_name}")
            program_list.append({"id": names[-1], "school": school, "path": path_name, "capacity": capacity})
    transfers = [{"school": school, "from": src, "to": dst} for school in schools for src, dst in TRANSFERS]

    home = rng.integers(0, n_schools, applicants)
    ax = sx[home] + rng.normal(0, CELL_M / 2, applicants)
    ay = sy[home] + rng.normal(0, CELL_M / 2, applicants)
    if n_schools < 50:
        offsets = np.arange(n_schools)
        spread = np.minimum(offsets, n_schools - offsets).astype(float)
    else:
        grid = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]
        offsets = np.array([dy * cols + dx for dy, dx in grid])
        spread = np.array([np.hypot(dy, dx) for dy, dx in grid])
    k = min(choices, len(offsets))
    # Nearer schools are likelier to be listed, and listed first.
    noise = rng.random((applicants, len(offsets))) * 4 + spread / max(float(spread.max()), 1.0)
    picked = offsets[np.argsort(noise, axis=1)[:, :k]]
    listed = (home[:, None] + picked) % n_schools
    distance = np.round(np.hypot(sx[listed] - ax[:, None], sy[listed] - ay[:, None]), 2)
    path = rng.choice(len(PATHS), applicants, p=PATH_SHARE)
    age = rng.integers(4400, 5500, applicants)
    score = np.round(rng.normal(80, 8, applicants), 2)
    lottery = rng.permutation(applicants)

    first = np.where(path[:, None] == PATHS.index("prestasi"), -score[:, None], distance).tolist()
    program = (listed * len(PATHS) + path[:, None]).tolist()
    rows = zip(first, program, (-age).tolist(), lottery.tolist(), strict=False)
    applicant_list = [
        {
            "id": f"A{a:07d}",
            "choices": [{"program": names[p], "key": [f, minus_age, draw]} for f, p in zip(fs, ps, strict=False)],
        }
        for a, (fs, ps, minus_age, draw) in enumerate(rows)
    ]
    order = rng.permutation(applicants).tolist()
    applicant_list = [applicant_list[i] for i in order]
    return msgspec.json.encode(
        {
            "mechanism": "deferred_acceptance",
            "programs": program_list,
            "transfers": transfers,
            "applicants": applicant_list,
        }
    )


def baseline_solve(doc: dict) -> str:
    """Student-proposing deferred acceptance with per-program heaps, rerun after seat transfers."""
    programs = doc["programs"]
    index = {p["id"]: i for i, p in enumerate(programs)}
    by_path = {(p["school"], p["path"]): i for i, p in enumerate(programs)}
    moves = [(by_path[t["school"], t["from"]], by_path[t["school"], t["to"]]) for t in doc.get("transfers", [])]
    applicants = doc["applicants"]
    ids = [a["id"] for a in applicants]
    id_rank = {applicant_id: r for r, applicant_id in enumerate(sorted(ids))}
    # Heap entries are negated (key, id rank) so that each heap's root is the worst held.
    prefs = [
        [(index[c["program"]], (tuple(-x for x in c["key"]), -id_rank[a["id"]], i)) for c in a["choices"]]
        for i, a in enumerate(applicants)
    ]
    caps = [p["capacity"] for p in programs]
    while True:
        held: list[list] = [[] for _ in programs]
        assigned = [-1] * len(applicants)
        nxt = [0] * len(applicants)
        free = list(range(len(applicants)))
        while free:
            a = free.pop()
            mine = prefs[a]
            while nxt[a] < len(mine):
                p, entry = mine[nxt[a]]
                nxt[a] += 1
                heap = held[p]
                if len(heap) < caps[p]:
                    heapq.heappush(heap, entry)
                    assigned[a] = p
                    break
                if heap and entry > heap[0]:
                    loser = heapq.heapreplace(heap, entry)[2]
                    assigned[loser] = -1
                    free.append(loser)
                    assigned[a] = p
                    break
        filled = [len(h) for h in held]
        if not engine.move_spare_seats(caps, filled, moves):
            break
    assignments = {
        applicant_id: programs[p]["id"] if p >= 0 else None for applicant_id, p in zip(ids, assigned, strict=False)
    }
    text = json.dumps(sorted(assignments.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def run(applicants: int, choices: int, programs: int, seed: int) -> dict:
    """Build one instance, time both solvers on it and return the figures.

    Cyclic GC is off for both: with it on, collections walking millions of parsed objects
    dominate the pure-Python baseline (the engine pauses it itself).
    """
    data = build_instance(applicants, choices, programs, seed)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        instance = engine.load_instance(data)
        t1 = time.perf_counter()
        result = engine.solve(instance)
        t2 = time.perf_counter()
        digest = result.digest
        del instance, result
        gc.collect()
        t3 = time.perf_counter()
        doc = json.loads(data)
        t4 = time.perf_counter()
        baseline_digest = baseline_solve(doc)
        t5 = time.perf_counter()
    finally:
        if enabled:
            gc.enable()
    ours, theirs = t2 - t0, t5 - t3
    return {
        "applicants": applicants,
        "choices": choices,
        "programs": programs,
        "seed": seed,
        "instance_bytes": len(data),
        "cpus": os.cpu_count(),
        "engine_parse_s": round(t1 - t0, 3),
        "engine_solve_s": round(t2 - t1, 3),
        "baseline_parse_s": round(t4 - t3, 3),
        "baseline_solve_s": round(t5 - t4, 3),
        "engine_total_s": round(ours, 3),
        "baseline_total_s": round(theirs, 3),
        "engine_digest": digest,
        "baseline_digest": baseline_digest,
        "digests_equal": digest == baseline_digest,
        "ratio": round(ours / theirs, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark figures; exit 1 when the digests differ."""
    parser = argparse.ArgumentParser(prog="ppdb bench selection", description=__doc__)
    parser.add_argument("--applicants", type=int, default=1_000_000)
    parser.add_argument("--choices", type=int, default=3)
    parser.add_argument("--programs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures = run(args.applicants, args.choices, args.programs, args.seed)
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value}")
    return 0 if figures["digests_equal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
