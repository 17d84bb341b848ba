"""Selection values as types: the program key, a cut-off by name, and a placement's entry for each choice.

The engine's contract speaks in strings and lists (a program id, a key); this module is the only place
that turns them into these types and back.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ppdb.selection.keys import DAYS_PER_MONTH, PRIVATE_KEYS, describe

Number = int | float


class ProgramKey(msgspec.Struct, frozen=True, order=True, gc=False):
    """Where seats are counted: a school, a path, for a path with sub-quotas its category, and at an SMK the
    program (kompetensi keahlian) whose seats they are.

    Written `npsn:path`, `npsn:path/category`, `npsn:path@program` (the engine's program id, stored in runs and
    placements); everything after the colon is the engine's `Program.path` (`engine_path`), so an SMK
    program's paths pass seats to each other, never to another program's."""

    npsn: str
    path: str
    category: str | None = None
    major: str | None = None

    @property
    def quota_path(self) -> str:
        """The path with its sub-quota: `afirmasi/disabilitas`."""
        return f"{self.path}/{self.category}" if self.category else self.path

    @property
    def engine_path(self) -> str:
        """The path with its sub-quota and SMK program, `afirmasi/disabilitas@TKJ`: the engine's `Program.path`,
        stored beside the school (`ProgramOutcome.path`, `PublicationEntry.path`)."""
        return f"{self.quota_path}@{self.major}" if self.major else self.quota_path

    @property
    def id(self) -> str:
        return f"{self.npsn}:{self.engine_path}"

    def __str__(self) -> str:
        return self.id

    @classmethod
    def parse(cls, text: str) -> ProgramKey:
        npsn, _, rest = text.partition(":")
        return cls.of(npsn, rest)

    @classmethod
    def of(cls, npsn: str, engine_path: str) -> ProgramKey:
        """From a school and a path as stored beside it (`ProgramOutcome.path`, `PublicationEntry.path`)."""
        rest, _, major = engine_path.partition("@")
        path, _, category = rest.partition("/")
        return cls(npsn, path, category or None, major or None)


def path_of(program: str) -> str:
    """The bare path of a program id, without school or sub-quota."""
    return ProgramKey.parse(program).path


class Cutoff(msgspec.Struct, frozen=True, gc=False):
    """A program's cut-off: the key of the last applicant who got a seat, value by value with its name."""

    names: list[str]
    values: list[Number]

    @classmethod
    def of(cls, names: list[str], values: list[Number] | None) -> Cutoff | None:
        return None if values is None else cls(list(names), list(values))

    def get(self, name: str) -> Number | None:
        """The value of one key ("distance", "score", ...), or None when the path does not rank by it."""
        for n, v in zip(self.names, self.values, strict=False):
            if n == name:
                return v
        return None

    @property
    def distance_m(self) -> float | None:
        return self.get("distance")

    @property
    def score(self) -> float | None:
        value = self.get("score")
        return None if value is None else -value  # stored negated: smaller is better

    def public(self) -> Cutoff:
        """As it may be shown to others: no lottery number, no time of registration, age in whole months."""
        return Cutoff(*public_key(self.names, self.values))

    def words(self) -> str:
        """The public part in plain Bahasa Indonesia: "nilai 80,00; 1.234,50 m; 16 tahun 3 bulan"."""
        shown = self.public()
        return "; ".join(describe(n, v) for n, v in zip(shown.names, shown.values, strict=True))


def public_names(names: list[str]) -> list[str]:
    return ["age_months" if n == "age" else n for n in names if n not in PRIVATE_KEYS]


def public_key(names: list[str], key: list[Number]) -> tuple[list[str], list[Number]]:
    """A key as it may be shown to others: no lottery number (with the published seed it would give away
    the child's NIK), no time of registration, and age in whole months instead of days."""
    shown = [(n, v) for n, v in zip(names, key, strict=True) if n not in PRIVATE_KEYS]
    return (
        public_names(names),
        [-int(-v // DAYS_PER_MONTH) if n == "age" else v for n, v in shown],
    )


class Considered(msgspec.Struct, omit_defaults=True, gc=False):
    """A choice that took part in the run: its program, the applicant's key there and their position; `then`
    where a sub-quota falls back to another at the same school (ranked there next, with the same key)."""

    program: str
    key: list[Number]
    position: int | None = None
    then: Considered | None = None

    def steps(self) -> list[Considered]:
        """This entry and the ones it falls back to, in the order they were ranked."""
        return [self, *(self.then.steps() if self.then else ())]

    def at(self, program: str | None) -> Considered | None:
        """The step that ranked the applicant in `program`."""
        return next((step for step in self.steps() if step.program == program), None)


class Dropped(msgspec.Struct, omit_defaults=True, gc=False):
    """A choice left out of the run, and why (a code of `explain.DROPPED`); at an SMK, the program chosen
    (`major`, as in `ProgramKey`)."""

    dropped: str
    npsn: str
    major: str | None = None


Entry = Considered | Dropped
_ENCODER = msgspec.json.Encoder()


def encode_entries(entries: dict[int, Entry]) -> str:
    """Choice rank -> entry, as stored in `placements.keys` (JSON object keyed by the rank as text)."""
    return _ENCODER.encode(entries).decode()


def decode_entries(stored: dict[str, Any] | None) -> dict[int, Entry]:
    """`placements.keys` -> typed entries by choice rank, in rank order. The stored shape has no tag: a
    dropped choice is the one with a "dropped" reason."""
    if not stored:
        return {}
    entries: dict[int, Entry] = {}
    for rank, entry in sorted(stored.items(), key=lambda item: int(item[0])):
        entries[int(rank)] = (
            msgspec.convert(entry, Dropped) if "dropped" in entry else msgspec.convert(entry, Considered)
        )
    return entries
