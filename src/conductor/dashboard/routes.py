"""HTTP routes of the dashboard: the page at `/`, its files under `/dashboard/`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from conductor.dashboard.assets import Asset, AssetMissing, own_asset, plotly_asset

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # The charting library writes inline styles (and SVG patterns as data: images).
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""Only this origin's scripts run: escaped text is the first defence, this the second."""

OWN_CACHE = "no-cache"
"""Revalidated on each load (cheap with the ETag) so a new version shows at once."""
VENDOR_CACHE = "public, max-age=86400"


def _send(request: Request, asset: Asset, cache_control: str, **extra: str) -> Response:
    headers = {
        "ETag": asset.etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
        **extra,
    }
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    accepts = request.headers.get("accept-encoding", "")
    if asset.gzipped is not None and "gzip" in accepts.lower():
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)


def _own(name: str) -> Asset:
    try:
        return own_asset(name)
    except AssetMissing as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


router = APIRouter(include_in_schema=False)


@router.get("/")
async def page(request: Request) -> Response:
    """The single page; the hash in its URL picks the view (`#/session/<id>`)."""
    return _send(
        request,
        _own("index.html"),
        OWN_CACHE,
        **{
            "Content-Security-Policy": PAGE_POLICY,
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        },
    )


@router.get("/dashboard/vendor/plotly.min.js")
async def plotly(request: Request) -> Response:
    try:
        asset = plotly_asset()
    except AssetMissing as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    return _send(request, asset, VENDOR_CACHE)


@router.get("/dashboard/{name}")
async def own_file(name: str, request: Request) -> Response:
    """Only the dashboard's own, listed files; anything else is a 404."""
    return _send(request, _own(name), OWN_CACHE)
