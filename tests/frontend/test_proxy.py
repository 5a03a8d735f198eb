"""The same-origin API proxy, against a real catalog process and a registry that is down."""

from __future__ import annotations

import re
import time

import httpx

from services.frontend.config import Settings
from services.frontend.main import create_frontend_app
from tests.frontend.conftest import ADMIN, API_TOKEN
from tests.utils.servers import RunningServer


def test_index_carries_api_paths(proxy_frontend: RunningServer) -> None:
    response = httpx.get(proxy_frontend.url + "/")
    assert response.status_code == 200
    assert 'data-api-catalog="/api/catalog"' in response.text
    assert 'data-api-registry="/api/registry"' in response.text
    assert 'data-api-recommender="/api/recommender"' in response.text
    assert 'href="/api/registry/admin/"' in response.text
    assert httpx.get(proxy_frontend.url + "/static/app.js").status_code == 200


def test_forwards_path_and_query(
    proxy_frontend: RunningServer, catalog_server: RunningServer
) -> None:
    direct = httpx.get(catalog_server.url + "/users/42/reviews", params={"limit": 3})
    proxied = httpx.get(proxy_frontend.url + "/api/catalog/users/42/reviews", params={"limit": 3})
    assert proxied.status_code == 200
    assert proxied.json() == direct.json()
    assert len(proxied.json()["data"]) == 3
    assert proxied.headers["content-type"] == "application/json"


def test_downstream_errors_pass_through(proxy_frontend: RunningServer) -> None:
    response = httpx.get(proxy_frontend.url + "/api/catalog/users/9999")
    assert response.status_code == 404
    assert response.json() == {"detail": "user 9999 not found"}


def test_request_id_goes_both_ways(
    proxy_frontend: RunningServer, catalog_server: RunningServer
) -> None:
    response = httpx.get(
        proxy_frontend.url + "/api/catalog/stats", headers={"X-Request-ID": "trace-me-42"}
    )
    assert response.status_code == 200
    # One id and one date, not the downstream's copies next to ours.
    assert response.headers.get_list("x-request-id") == ["trace-me-42"]
    assert len(response.headers.get_list("date")) == 1
    # The catalog handled the request under the same id (its access log is written
    # just after the answer, hence the short wait).
    deadline = time.monotonic() + 5
    while '"request_id": "trace-me-42"' not in catalog_server.log():
        assert time.monotonic() < deadline, catalog_server.log()[-2000:]
        time.sleep(0.05)


def test_downstream_down_is_503(proxy_frontend: RunningServer) -> None:
    response = httpx.get(proxy_frontend.url + "/api/recommender/models/summary")
    assert response.status_code == 503
    assert response.json() == {"detail": "recommender is unavailable"}


def test_admin_sign_in_round_trip(proxy_frontend: RunningServer) -> None:
    """A form POST, its cookies and its redirects all work through the proxy."""
    with httpx.Client(base_url=proxy_frontend.url) as browser:
        first = browser.get("/api/registry/admin/")
        assert first.status_code == 303
        assert first.headers["location"] == "/api/registry/admin/login"
        form = browser.get("/api/registry/admin/login")
        assert form.status_code == 200
        assert 'action="/api/registry/admin/login"' in form.text
        cookie = form.headers["set-cookie"]
        assert "Path=/api/registry" in cookie and "HttpOnly" in cookie
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        signed_in = browser.post(
            "/api/registry/admin/login",
            data={
                "csrf_token": token,
                "username": ADMIN["ADMIN_USERNAME"],
                "password": ADMIN["ADMIN_PASSWORD"],
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"].startswith("/api/registry/admin")
        listing = browser.get(signed_in.headers["location"])
        assert listing.status_code == 200
        assert "<h1>Registered models</h1>" in listing.text
        assert f"Sign out ({ADMIN['ADMIN_USERNAME']})" in listing.text


def test_json_body_and_bearer_token_reach_the_registry(proxy_frontend: RunningServer) -> None:
    arn = "arn:aws:personalize:us-east-1:000000000000:campaign/x"
    url = proxy_frontend.url + "/api/registry/models"
    body = {"name": "x", "campaign_arn": arn, "type": "bogus", "sort_order": 1}
    # Without the token the registry refuses; with it, it reads the body and names the bad field.
    assert httpx.post(url, json=body).status_code == 401
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("type: Input should be 'recommendations'")


def test_unknown_api_is_404(proxy_frontend: RunningServer) -> None:
    response = httpx.get(proxy_frontend.url + "/api/engine/anything")
    assert response.status_code == 404
    assert response.json() == {"detail": "no API named 'engine'"}


async def test_unconfigured_downstream_is_503() -> None:
    """Without RECOMMENDER_URL (nginx routes /api/ in docker-compose) the prefix says so."""
    app = create_frontend_app(Settings(CATALOG_URL=None, REGISTRY_URL=None, RECOMMENDER_URL=None))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://frontend") as client:
            response = await client.get("/api/recommender/models/summary")
            page = await client.get("/")
    assert response.status_code == 503
    assert response.json() == {"detail": "recommender is not configured on this server"}
    assert page.status_code == 200
