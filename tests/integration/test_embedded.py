"""The embedded PostgreSQL: a process killed outright (kill -9 of `ppdb demo`) does not keep the server running
after the last process still using it stops (security review L12)."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from ppdb.db import embedded

STARTS = (
    "import sys, time; from pathlib import Path; from ppdb.db import embedded; "
    "embedded.start(Path(sys.argv[1])); print('up', flush=True); time.sleep(120)"
)


def test_a_killed_user_of_the_server_does_not_keep_it_running(tmp_path):
    data = tmp_path / "data"
    child = subprocess.Popen([sys.executable, "-c", STARTS, str(data)], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"up"
    finally:
        child.kill()  # SIGKILL: it never takes itself off the server's list of users
        child.wait()
    server, _ = embedded.start(data)  # this process reuses the server it left running
    postmaster = server.get_pid()
    assert postmaster is not None and psutil.pid_exists(postmaster)
    server.cleanup()  # the last process using it is done: the server stops
    deadline = time.monotonic() + 20
    while psutil.pid_exists(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(postmaster)
