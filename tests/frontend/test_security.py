"""Each attack found against the web app and its proxy, replayed against real processes,
expecting the refusal: odd paths, spoofed forwarding headers, oversized requests, the
downstreams' operator pages, and the page's own security headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page

from services.frontend.config import Settings
from services.frontend.main import create_frontend_app
from services.frontend.security_headers import CONTENT_SECURITY_POLICY
from tests.frontend.embedded import embedded_frontend
from tests.utils.servers import RunningServer, raw_get, run_server

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Answers with the path and headers it was sent (tests/frontend/upstream_stub.py)."""
    log_dir = tmp_path_factory.mktemp("echo")
    with run_server("tests.frontend.upstream_stub:app", env={}, log_dir=log_dir) as server:
        yield server


@pytest.fixture(scope="module")
def frontend(
    tmp_path_factory: pytest.TempPathFactory,
    catalog_server: RunningServer,
    registry_server: RunningServer,
    echo: RunningServer,
) -> Iterator[RunningServer]:
    """As `videorecs up` runs it: the real catalog and registry, the echo as recommender."""
    with embedded_frontend(
        tmp_path_factory.mktemp("frontend-security"),
        CATALOG_URL=catalog_server.url,
        REGISTRY_URL=registry_server.url,
        RECOMMENDER_URL=echo.url,
    ) as server:
        yield server


def echoed(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["/api/catalog//x", "/api/catalog//users/1", "/api/catalog/users//1"]
)
def test_empty_segment_is_a_404_saying_so(frontend: RunningServer, target: str) -> None:
    response = raw_get(frontend.url, target)
    assert response.status_code == 404
    assert response.json() == {"detail": "empty path segment ('//') in the API path"}


def test_escaped_prefix_reaches_the_right_path(frontend: RunningServer) -> None:
    plain = raw_get(frontend.url, "/api/catalog/stats")
    escaped = raw_get(frontend.url, "/api/%63atalog/stats")
    assert escaped.status_code == 200, escaped.text
    assert escaped.json() == plain.json()
    # Stripped by segments, whatever their escapes: never a path like /og/stats.
    assert echoed(raw_get(frontend.url, "/api/%72ecommender/echo/x"))["path"] == "/echo/x"
    assert echoed(raw_get(frontend.url, "/%61pi/recommender/echo/x"))["path"] == "/echo/x"


def test_escapes_after_the_prefix_reach_the_downstream_as_sent(frontend: RunningServer) -> None:
    body = echoed(raw_get(frontend.url, "/api/recommender/echo/a%2Fb/%C3%A9?q=%26"))
    assert body["raw_path"] == "/echo/a%2Fb/%C3%A9"
    assert body["path"] == "/echo/a/b/é"


def test_an_escaped_slash_in_the_service_name_is_no_service(frontend: RunningServer) -> None:
    response = raw_get(frontend.url, "/api/cat%2Falog/stats")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "/api/catalog/../registry/models",
        "/api/catalog/./stats",
        "/api/catalog/%2e%2e/metrics",
        "/api/recommender/echo/%2E/x",
    ],
)
def test_dot_segments_are_refused(frontend: RunningServer, target: str) -> None:
    response = raw_get(frontend.url, target)
    assert response.status_code == 404
    assert response.json() == {"detail": "'.' and '..' segments are not allowed in API paths"}


@pytest.mark.parametrize(
    "target",
    [
        "/api/catalog/metrics",
        "/api/registry/metrics",
        "/api/recommender/metrics",
        "/api/catalog/%6detrics",
        "/api/catalog/metrics/",
        "/api/catalog/docs",
        "/api/catalog/docs/oauth2-redirect",
        "/api/registry/redoc",
        "/api/recommender/openapi.json",
        "/api/catalog/%6fpenapi.json",
    ],
)
def test_operator_pages_are_not_public(
    frontend: RunningServer, echo: RunningServer, target: str
) -> None:
    response = raw_get(frontend.url, target)
    assert response.status_code == 404, response.text
    assert "is not served through this proxy" in response.json()["detail"]


def test_operator_pages_stay_on_the_services_themselves(catalog_server: RunningServer) -> None:
    # Prometheus and schema tools reach each service directly.
    assert httpx.get(catalog_server.url + "/metrics").status_code == 200
    assert httpx.get(catalog_server.url + "/openapi.json").status_code == 200


async def test_public_docs_opens_the_docs_but_not_the_metrics(
    catalog_server: RunningServer,
) -> None:
    app = create_frontend_app(Settings(CATALOG_URL=catalog_server.url, PUBLIC_DOCS=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://frontend") as client:
            docs = await client.get("/api/catalog/openapi.json")
            metrics = await client.get("/api/catalog/metrics")
    assert docs.status_code == 200
    assert docs.json()["info"]["title"] == "videorecs catalog"
    assert metrics.status_code == 404


# --- forwarding headers ----------------------------------------------------------------


def test_spoofed_forwarding_headers_are_replaced(frontend: RunningServer) -> None:
    spoofed = {
        "X-Forwarded-For": "6.6.6.6, 7.7.7.7",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Prefix": "/evil",
        "Forwarded": "for=6.6.6.6",
    }
    headers = echoed(httpx.get(frontend.url + "/api/recommender/echo", headers=spoofed))["headers"]
    # The real peer only, never appended to what the client claimed.
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-host"] == frontend.url.removeprefix("http://")
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-prefix"] == "/api/recommender"
    assert "forwarded" not in headers


# --- sizes -----------------------------------------------------------------------------


def test_huge_headers_are_431(frontend: RunningServer) -> None:
    for path in ("/", "/api/catalog/stats"):
        response = httpx.get(frontend.url + path, headers={"X-Big": "a" * 40_000})
        assert response.status_code == 431
        assert response.json()["detail"].startswith("request headers too large")


def test_cookies_of_ordinary_size_pass(frontend: RunningServer) -> None:
    cookies = {f"c{i}": "v" * 1000 for i in range(8)}  # 8 kB of cookies
    assert httpx.get(frontend.url + "/api/catalog/stats", cookies=cookies).status_code == 200


def test_bodies_over_a_mebibyte_are_413(frontend: RunningServer) -> None:
    url = frontend.url + "/api/registry/models"
    too_big = b"x" * (MIB + 1)
    response = httpx.post(url, content=too_big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body too large: at most {MIB} bytes allowed"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        for _ in range(3):
            yield b"x" * (MIB // 2)

    streamed = httpx.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert streamed.json()["detail"].startswith("request body too large")


def test_bodies_under_the_limit_still_reach_the_downstream(frontend: RunningServer) -> None:
    body = {"name": "x" * 1000, "campaign_arn": "arn", "type": "bogus", "sort_order": 1}
    response = httpx.post(frontend.url + "/api/registry/models", json=body)
    assert response.status_code == 401  # the registry read it and wants a token


# --- the page --------------------------------------------------------------------------


def test_page_sends_security_headers(frontend: RunningServer) -> None:
    for path in ("/", "/static/app.js", "/static/styles.css"):
        response = httpx.get(frontend.url + path)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
    policy = dict(
        directive.split(" ", 1) for directive in CONTENT_SECURITY_POLICY.split("; ")
    )
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "https:" in policy["img-src"]  # posters come from elsewhere


def test_proxied_answers_keep_their_own_headers(frontend: RunningServer) -> None:
    # The registry's admin pages set their own policy; a second one would apply on top.
    response = httpx.get(frontend.url + "/api/catalog/stats")
    assert "content-security-policy" not in response.headers


def test_405_names_the_allowed_methods(frontend: RunningServer) -> None:
    page = httpx.delete(frontend.url + "/")
    assert page.status_code == 405
    assert page.headers["allow"] == "GET"
    static = httpx.post(frontend.url + "/static/app.js")
    assert static.status_code == 405
    assert static.headers["allow"] == "GET, HEAD"
    proxied = httpx.post(frontend.url + "/api/catalog/stats")
    assert proxied.status_code == 405
    assert proxied.headers["allow"] == "GET"


def test_openapi_declares_the_error_body_it_sends() -> None:
    schema = create_frontend_app(Settings()).openapi()
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            default = operation["responses"]["default"]["content"]["application/json"]
            assert default["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (path, method)
    assert json.dumps(schema).count("HTTPValidationError") == 0


# Collected in the page before any of its scripts runs (Playwright's init scripts are
# not subject to the page's policy).
RECORD_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (event) => {
  (window.__violations ||= []).push(`${event.violatedDirective} ${event.blockedURI}`);
});"""


@pytest.mark.browser
async def test_the_app_runs_under_its_policy(page: Page) -> None:
    """No script, style or request of the app is blocked by its CSP; the styles the
    scripts set (title card colours, chart swatches, rating bars) still apply."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    await page.add_init_script(RECORD_VIOLATIONS)
    await page.goto("/#/")
    swatch = page.locator(".chart__swatch").first
    await swatch.wait_for()
    assert await swatch.evaluate("(el) => getComputedStyle(el).backgroundColor") not in (
        "", "rgba(0, 0, 0, 0)"
    )
    await page.goto("/#/users/1")
    card = page.locator(".tile .title-card").first
    await card.wait_for()
    colour = "(el) => getComputedStyle(el).getPropertyValue('--card-from').trim()"
    assert await card.evaluate(colour) != ""
    assert await page.evaluate("window.__violations || []") == []
    assert [line for line in console if "Content Security Policy" in line] == []
