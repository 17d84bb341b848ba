"""Allow `python -m ppdb`."""

from ppdb.cli import main

main()
