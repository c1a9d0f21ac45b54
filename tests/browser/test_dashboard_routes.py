"""The dashboard's HTTP side, without a browser: what `mount_dashboard` serves and refuses."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from importlib import resources

import httpx
import pytest
from fastapi import FastAPI

from conductor.dashboard import mount_dashboard

STATIC = resources.files("conductor.dashboard").joinpath("static")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    mount_dashboard(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as c:
        yield c


async def test_the_page_is_served_at_the_root_with_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_every_file_the_page_names_is_served(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    linked = re.findall(r'(?:src|href)="(/dashboard/[^"]+)"', page)
    assert "/dashboard/app.js" in linked
    assert "/dashboard/vendor/plotly.min.js" in linked
    for path in linked:
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.content, path


async def test_own_files_revalidate_with_their_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/dashboard/app.js")
    assert first.headers["content-type"].startswith("text/javascript")
    assert first.content == (STATIC / "app.js").read_bytes()
    again = await client.get("/dashboard/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    stale = await client.get("/dashboard/app.js", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200


async def test_the_chart_library_comes_from_the_installed_plotly(client: httpx.AsyncClient) -> None:
    installed = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    packed = await client.get(
        "/dashboard/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"}
    )
    assert packed.status_code == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(installed) // 2  # sent compressed
    assert packed.content == installed  # and it unpacks to the installed file
    plain = await client.get(
        "/dashboard/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers
    assert plain.content == installed
    assert "max-age" in plain.headers["cache-control"]


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/index.py",
        "/dashboard/__init__.py",
        "/dashboard/..%2F__init__.py",
        "/dashboard/static%2Fapp.js",
        "/dashboard/vendor/other.js",
    ],
)
async def test_nothing_but_the_listed_files_is_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


def test_the_script_never_parses_text_as_markup() -> None:
    """Text from the API reaches the page through text nodes only (see h() in app.js)."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in (
        r"\.innerHTML\s*=",
        r"\.outerHTML\s*=",
        r"insertAdjacentHTML\(",
        r"document\.write",
    ):
        assert not re.search(sink, script), sink
    assert not re.search(r"\beval\(|new Function\(", script)
