"""Juknis templates: a region's published rules as a file, loaded into a draft period in one step.

A template is a rules change (`RulesUpdate`) on top of a national preset, with the sources it was read
from; loading it goes through `service.update_rules`, so it is checked, audited and versioned like any
other change. The files are in `templates/`, one per region, level and year.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import msgspec

from ppdb.regions.models import Level
from ppdb.regions.schemas import RulesUpdate

FOLDER = Path(__file__).with_name("templates")


class Template(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    title: str
    region: str
    level: Level
    preset: str
    sources: list[str]
    """Where each rule was read (juknis, the Dinas' announcements, press): checkable by anyone."""
    notes: list[str] = []
    """What the template leaves out or reads one way where sources disagree."""
    rules: RulesUpdate


@cache
def templates() -> dict[str, Template]:
    """Every template shipped, by name (the file name without `.json`)."""
    found = {}
    for path in sorted(FOLDER.glob("*.json")):
        template = msgspec.json.decode(path.read_bytes(), type=Template)
        assert template.name == path.stem, f"{path.name}: name must be {path.stem}"
        found[template.name] = template
    return found
