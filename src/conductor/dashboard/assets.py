"""The dashboard's files: its own hand-written ones and the charting library plotly ships.

Files are read through importlib.resources so the dashboard works from a wheel as well as from
a source checkout, and only names on a fixed list are ever served (no path from a request
reaches the file system).
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from hashlib import sha256
from importlib import resources

OWN_FILES: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
PLOTLY_NAME = "plotly.min.js"
JS_TYPE = "text/javascript; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str
    gzipped: bytes | None = None
    """The body compressed once, for large files only (the charting library is ~5 MB)."""


class AssetMissing(LookupError):
    """A file the dashboard needs is not installed (a broken install, said clearly)."""


def _asset(body: bytes, media_type: str, *, compress: bool = False) -> Asset:
    etag = '"' + sha256(body).hexdigest()[:32] + '"'
    packed = gzip.compress(body, compresslevel=6, mtime=0) if compress else None
    return Asset(body, media_type, etag, packed)


def own_asset(name: str) -> Asset:
    """One of the dashboard's own files; read on every call so edits show without a restart."""
    media_type = OWN_FILES.get(name)
    if media_type is None:
        raise AssetMissing(f"the dashboard has no file {name!r}")
    resource = resources.files("conductor.dashboard").joinpath("static", name)
    try:
        return _asset(resource.read_bytes(), media_type)
    except FileNotFoundError:
        raise AssetMissing(f"dashboard file {name} is not installed") from None


@cache
def plotly_asset() -> Asset:
    """The charting library from the installed plotly package, read and compressed once."""
    resource = resources.files("plotly").joinpath("package_data", PLOTLY_NAME)
    try:
        body = resource.read_bytes()
    except FileNotFoundError:
        raise AssetMissing(
            f"plotly's {PLOTLY_NAME} is not installed (is the plotly package intact?)"
        ) from None
    return _asset(body, JS_TYPE, compress=True)
