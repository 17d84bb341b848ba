"""Static files for phones on slow networks: each read, hashed and compressed (brotli and gzip) once per worker,
addressed by a fingerprint (`/static/ppdb.js?v=<hash>`) so that a browser keeps it for a year and never asks
again, answered 304 to a conditional request, and sent compressed to any browser that accepts it."""

from __future__ import annotations

import base64
import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import brotli
from litestar import Request, Response, get
from litestar.params import PathParameter

HERE = Path(__file__).parent
# Our own files, and the third-party ones (htmx, Leaflet, Chart.js, Swagger UI) from npm (`package.json`).
ROOTS = (("vendor/", HERE / "node_modules"), ("", HERE / "static"))
YEAR = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
"""Without the fingerprint (an old link, the API docs' own references): kept, but checked (304) each time."""
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str
    encodings: dict[str, bytes]
    """`br` and `gzip` bodies, where they are smaller."""


_LOADED: dict[str, Asset] = {}
"""Assets read so far, by path: only files that exist (bounded by the asset folders; a miss is not kept)."""


def load(path: str) -> Asset | None:
    """The file at `path` under /static (None when there is none, or the path leaves the asset folders)."""
    if (found := _LOADED.get(path)) is not None:
        return found
    for prefix, root in ROOTS:
        if not path.startswith(prefix):
            continue
        file = (root / path.removeprefix(prefix)).resolve()
        if not file.is_relative_to(root.resolve()) or not file.is_file():
            return None
        body = file.read_bytes()
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        encodings = {}
        if media_type.startswith(COMPRESSIBLE):
            for name, packed in (("br", brotli.compress(body, quality=11)), ("gzip", gzip.compress(body, 9, mtime=0))):
                if len(packed) < len(body):
                    encodings[name] = packed
        found = _LOADED[path] = Asset(body, media_type, hashlib.sha256(body).hexdigest()[:12], encodings)
        return found
    return None


PAGE_CSS = (HERE / "static" / "ppdb.css").read_text()
"""The site's own style sheet, inlined in every page (`base.html`): the page paints after one round trip, not two
(on a slow 3G link each is about 2 s). The CSP allows exactly this text by its hash."""
PAGE_CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(PAGE_CSS.encode()).digest()).decode()


def url(path: str) -> str:
    """The fingerprinted address of an asset, for templates: `{{ asset("ppdb.js") }}`."""
    found = load(path)
    return f"/static/{path}?v={found.version}" if found else f"/static/{path}"


@get("/static/{path:path}", include_in_schema=False, sync_to_thread=True)  # a first read compresses: not on the loop
def serve(request: Request, path: Annotated[str, PathParameter(max_length=300)]) -> Response[bytes]:
    found = load(path.lstrip("/"))
    if found is None:
        from ppdb.errors import NotFound

        raise NotFound("not_found", "Berkas tidak ditemukan.")
    headers = {
        "ETag": f'"{found.version}"',
        "Cache-Control": YEAR if request.query_params.get("v") == found.version else REVALIDATE,
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match", "").strip('W/ "') == found.version:
        return Response(b"", status_code=304, headers=headers)
    accepted = request.headers.get("accept-encoding", "")
    for name, body in found.encodings.items():
        if name in accepted:
            return Response(body, media_type=found.media_type, headers={**headers, "Content-Encoding": name})
    return Response(found.body, media_type=found.media_type, headers=headers)
