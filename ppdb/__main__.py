"""Allow `python -m ppdb`."""

from ppdb.cli import run

run()
