"""Prometheus metrics: scraped after requests and a selection run; hidden from everyone but admins and the token."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from ppdb.config import load_settings
from tests.conftest import TEST_SECRET
from tests.helpers import expect_error, open_period, registration

TOKEN = "metrics-token-for-tests-0123456789"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample (labels given must all match), 0 when absent."""
    total = 0.0
    for line in text.splitlines():
        matches = line.startswith((name + "{", name + " "))
        if matches and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_after_requests_and_a_selection_run(admin, parent, client, transport):
    before = (await admin.get("/metrics")).text
    period = await open_period(admin)
    pid = period["id"]
    assert (await parent.post(f"/api/periods/{pid}/applications", json=registration())).status_code == 201
    await admin.post(f"/api/periods/{pid}/close")
    assert (await admin.post(f"/api/periods/{pid}/selection-runs")).status_code == 201
    for _ in range(3):
        await client.get(f"/api/periods/{pid}")

    scraped = await admin.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    route = {"route": "/api/periods/{period_id}", "method": "GET", "status": "200"}
    count = "ppdb_http_request_duration_seconds_count"
    assert sample(text, count, **route) - sample(before, count, **route) == 3
    assert 'le="0.05"' in text  # a histogram, with buckets
    assert (
        sample(text, "ppdb_selection_run_duration_seconds_count", kind="official")
        - sample(before, "ppdb_selection_run_duration_seconds_count", kind="official")
        == 1
    )
    assert sample(text, "ppdb_http_requests_in_flight") == 1  # the scrape itself
    # Raw paths never become labels (they would carry registration numbers): only route templates.
    assert not re.search(r'route="/api/periods/\d', text)


async def test_metrics_are_hidden_from_the_public(client, parent):
    for caller in (client, parent):
        expect_error(await caller.get("/metrics"), 404, "not_found")
    expect_error(await client.get("/metrics", headers={"Authorization": "Bearer wrong"}), 404, "not_found")
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404  # unset


async def test_a_prometheus_server_scrapes_with_the_token(database_url, engine, sessionmaker, tmp_path):
    from ppdb.app import create_app

    app = create_app(
        load_settings(
            {}, database_url=database_url, secret_key=TEST_SECRET, data_dir=str(tmp_path), metrics_token=TOKEN
        )
    )
    app.state.engine, app.state.sessionmaker = engine, sessionmaker
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as scraper:
        assert (await scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
        expect_error(await scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}x"}), 404, "not_found")


def test_workers_share_one_metrics_directory(tmp_path):
    """With several workers, samples from every process add up (prometheus multiprocess mode)."""
    script = f"""
import os, sys
from pathlib import Path
from ppdb.metrics import prepare_multiprocess
prepare_multiprocess(Path({str(tmp_path)!r}), 2)
import multiprocessing as mp

def work():
    from ppdb import metrics
    metrics.observe_selection("official", 1.5)

if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    for _ in range(2):
        p = ctx.Process(target=work); p.start(); p.join()
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    registry = CollectorRegistry(); multiprocess.MultiProcessCollector(registry)
    sys.stdout.write(generate_latest(registry).decode())
"""
    (tmp_path / "scrape.py").write_text(script)  # spawned workers re-import the main module: it must be a file
    out = subprocess.run(
        [sys.executable, str(tmp_path / "scrape.py")], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert sample(out, "ppdb_selection_run_duration_seconds_count", kind="official") == 2
    assert (tmp_path / "metrics").is_dir()
