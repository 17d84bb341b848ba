"""The admission-day harness itself (loadtests/run.py), at a tenth of the load: every scenario runs against a
real server, every acknowledged registration is checked in the database, and no 5xx but shedding appears.
The budgets are not judged here (a tenth of the load says nothing about them): `make loadtest` judges them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_scenario_runs_and_nothing_acknowledged_is_lost(tmp_path):
    sys.path.insert(0, str(ROOT / "loadtests"))
    try:
        from run import ORDER
    finally:
        sys.path.remove(str(ROOT / "loadtests"))
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "loadtests" / "run.py"),
            "--applicants",
            "300",
            "--schools",
            "6",
            "--fresh",
            "4000",
            "--workers",
            "1",
            "--scale",
            "0.1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    reports = list(tmp_path.glob("*/summary.json"))
    assert reports, done.stdout + done.stderr
    summary = json.loads(reports[0].read_text())
    assert list(summary) == ORDER
    for scenario, result in summary.items():
        assert result["lost"] == [], scenario
        codes = {int(code) for code in result["summary"]["status_codes"]}
        assert all(code < 500 or code == 503 for code in codes), (scenario, codes)
    assert summary["register-capacity"]["acked"] > 0 and summary["spike"]["acked"] > 0
    assert summary["result-day"]["summary"]["requests"]["lookupResult"]["count"] > 0
    table = (reports[0].parent / "summary.md").read_text()
    assert "| register-capacity | register |" in table and "| floor-insert | floorInsert |" in table
    assert done.returncode in (0, 1), done.stderr  # 1: a budget broken at a tenth of the load, not a crash
