"""What a phone on a slow network downloads: pages and static files compressed, static files addressed by a
fingerprint and kept for a year, a conditional request answered 304 (issue 24, "Fast on 3G")."""

from __future__ import annotations

import asyncio
import gzip
import re

import brotli
import pytest

from ppdb.web import assets


async def test_pages_link_fingerprinted_assets_that_browsers_keep_for_a_year(client):
    page = await client.get("/")
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert links and all("?v=" in link for link in links), links
    for link in links:
        response = await client.get(link, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["etag"] and response.headers["vary"] == "Accept-Encoding"


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_static_files_come_compressed(client, encoding):
    path = "vendor/htmx.org/dist/htmx.min.js"
    plain = (await client.get(f"/static/{path}", headers={"Accept-Encoding": "identity"})).content
    response = await client.get(assets.url(path), headers={"Accept-Encoding": f"{encoding}"})
    assert response.headers["content-encoding"] == encoding
    wire = response.num_bytes_downloaded
    assert wire < len(plain) / 2  # htmx: 51 KB, about 16 KB gzipped
    unpack = brotli.decompress if encoding == "br" else gzip.decompress
    assert response.content == plain or unpack(response.content) == plain  # httpx may have decoded it already


async def test_a_conditional_request_is_answered_304(client):
    first = await client.get("/static/ppdb.css")
    assert first.headers["cache-control"] == "public, no-cache"  # no fingerprint: kept, but checked
    again = await client.get("/static/ppdb.css", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_a_path_outside_the_asset_folders_is_not_served(client):
    for path in (
        "/static/../app.py",
        "/static/%2e%2e/%2e%2e/config.py",
        "/static/vendor/../../app.py",
        "/static/nope.css",
    ):
        assert (await client.get(path)).status_code == 404, path


async def test_pages_are_compressed_and_the_api_is_not(client):
    page = await client.get("/bantuan", headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["content-encoding"] == "br"
    api = await client.get("/api/presets", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in api.headers


async def test_the_inlined_style_sheet_is_the_one_the_csp_allows(client):
    """Pages paint after one round trip: the style sheet is in the page, allowed by its hash (and nothing else)."""
    import base64
    import hashlib

    page = await client.get("/masuk")
    css = re.search(r"<style>(.*?)</style>", page.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = page.headers["content-security-policy"]
    assert f"style-src 'self' 'sha256-{digest}';" in policy and "unsafe-inline" not in policy


async def test_a_page_fetched_again_unchanged_is_answered_304(transport, parent):
    from tests.integration.web.test_new_pages import signed_in

    browser, _ = await signed_in(transport, "anonymous")
    first = await browser.get("/bantuan", headers={"Accept-Encoding": "br"})
    assert first.headers["cache-control"] == "private, no-cache" and "HX-Request" in first.headers["vary"]
    again = await browser.get("/bantuan", headers={"If-None-Match": first.headers["etag"], "Accept-Encoding": "br"})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    assert "content-type" not in again.headers and "content-encoding" not in again.headers

    # gzip-only clients too (Litestar's gzip writes the time into each response's header)
    zipped = await browser.get("/bantuan", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    await asyncio.sleep(1.1)
    again = await browser.get("/bantuan", headers={"If-None-Match": zipped.headers["etag"], "Accept-Encoding": "gzip"})
    assert again.status_code == 304
    # the same address showing something else (signed in: the menu names the account) is sent whole
    family, _ = await signed_in(transport, "parent")
    changed = await family.get("/bantuan", headers={"If-None-Match": first.headers["etag"], "Accept-Encoding": "br"})
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]
    # writes, errors and redirects are left alone
    assert "etag" not in (await browser.get("/orangtua")).headers  # a redirect to sign in
    missing = await browser.get("/periode/999999/peringkat")
    assert missing.status_code == 404 and "etag" not in missing.headers
