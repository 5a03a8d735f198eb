"""docker-compose's topology as plain processes: nginx (from apt, with the config rendered
from deploy/nginx's template) in front of the lab_stack services on PostgreSQL."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.utils.nginx import render, standalone_config
from tests.utils.servers import free_port, raw_get
from tests.utils.stack import Stack

NGINX = "/usr/sbin/nginx"


def _addr(url: str) -> str:
    return urlparse(url).netloc


@pytest.fixture(scope="module")
def nginx_url(lab_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(NGINX).is_file() and shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: apt-get install -y nginx-light")
    prefix = tmp_path_factory.mktemp("nginx")
    port = free_port()
    assert lab_stack.frontend_url is not None, "the frontend is part of the topology"
    server_conf = prefix / "default.conf"
    server_conf.write_text(render({
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "FRONTEND_ADDR": _addr(lab_stack.frontend_url),
        "CATALOG_ADDR": _addr(lab_stack.catalog_url),
        "REGISTRY_ADDR": _addr(lab_stack.registry_url),
        "RECOMMENDER_ADDR": _addr(lab_stack.recommender_url),
    }))
    main_conf = prefix / "nginx.conf"
    main_conf.write_text(standalone_config(server_conf, prefix))
    log = (prefix / "stderr.log").open("wb")
    process = subprocess.Popen(
        [NGINX if Path(NGINX).is_file() else "nginx", "-p", str(prefix), "-c", str(main_conf),
         "-e", "stderr"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"nginx exited: {(prefix / 'stderr.log').read_text()}")
            try:
                if httpx.get(url + "/nginx-health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"nginx not answering: {(prefix / 'stderr.log').read_text()}")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_template_leaves_nginx_variables_alone() -> None:
    text = render({"NGINX_LISTEN": "80", "FRONTEND_ADDR": "f:1", "CATALOG_ADDR": "c:1",
                   "REGISTRY_ADDR": "r:1", "RECOMMENDER_ADDR": "x:1"})
    assert "$http_host" in text and "$request_id" in text and "${" not in text
    with pytest.raises(KeyError, match="CATALOG_ADDR"):
        render({"NGINX_LISTEN": "80"})


def test_home_page_through_nginx(nginx_url: str) -> None:
    response = httpx.get(nginx_url + "/", timeout=10)
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]


def test_catalog_prefix_is_stripped(nginx_url: str) -> None:
    response = httpx.get(nginx_url + "/api/catalog/stats", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"users": 943, "movies": 1682, "reviews": 100000,
                               "positive_reviews": 55375, "positive_users": 942,
                               "positive_movies": 1447}


def test_recommendation_through_nginx(nginx_url: str, lab_stack: Stack) -> None:
    model_id = lab_stack.model_ids["Personal Recommendations"]
    response = httpx.get(
        f"{nginx_url}/api/recommender/users/1/recommendations",
        params={"models": str(model_id), "num": 10},
        headers={"X-Request-ID": "nginx-topology-test-1"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    (block,) = response.json()["blocks"]
    assert block["error"] is None
    assert len(block["items"]) == 10
    # One request id follows the request through nginx and across the services.
    assert response.headers["x-request-id"] == "nginx-topology-test-1"
    assert _logged(lab_stack, "recommender", "nginx-topology-test-1")
    # ...and into Personalize calls (services/common/aws.py adds it to botocore requests).
    assert _logged(lab_stack, "engine", "nginx-topology-test-1")
    # The recommender caches films and models, so ask for something that always reaches
    # the catalog: the similar-items seed is the user's top review, read fresh each time.
    similar = httpx.get(
        f"{nginx_url}/api/recommender/users/2/similar",
        params={"model": str(lab_stack.model_ids["Similar Items"])},
        headers={"X-Request-ID": "nginx-topology-test-2"},
        timeout=30,
    )
    assert similar.status_code == 200, similar.text
    assert _logged(lab_stack, "catalog", "nginx-topology-test-2")


def _logged(stack: Stack, service: str, text: str, timeout: float = 5.0) -> bool:
    """Whether `text` shows up in the service's log; access lines are written after the
    response has been sent, so give them a moment."""
    deadline = time.monotonic() + timeout
    while True:
        if text in stack.log(service):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_registry_through_nginx(nginx_url: str, lab_stack: Stack) -> None:
    response = httpx.get(nginx_url + "/api/registry/models", timeout=10)
    assert response.status_code == 200
    assert response.json()["count"] >= len(lab_stack.model_ids)


def test_unknown_api_path_is_a_json_404(nginx_url: str) -> None:
    response = httpx.get(nginx_url + "/api/catalog/no-such-route", timeout=10)
    assert response.status_code == 404
    assert "detail" in response.json()


# The refusals of the frontend's proxy (tests/frontend/test_security.py), through nginx.


def test_empty_segment_is_a_404(nginx_url: str) -> None:
    response = raw_get(nginx_url, "/api/catalog//stats")
    assert response.status_code == 404
    assert response.json() == {"detail": "empty path segment ('//') in the API path"}


def test_escaped_prefix_reaches_the_right_path(nginx_url: str) -> None:
    plain = raw_get(nginx_url, "/api/catalog/stats")
    escaped = raw_get(nginx_url, "/api/%63atalog/stats")
    assert escaped.status_code == 200, escaped.text
    assert escaped.json() == plain.json()


@pytest.mark.parametrize(
    "target",
    [
        "/metrics",
        "/docs",
        "/openapi.json",
        "/api/catalog/metrics",
        "/api/catalog/%6detrics",
        "/api/registry/docs",
        "/api/registry/docs/oauth2-redirect",
        "/api/recommender/openapi.json",
        "/api/recommender/redoc",
        "/api/catalog/users/../metrics",
    ],
)
def test_operator_pages_are_not_public(nginx_url: str, target: str) -> None:
    response = raw_get(nginx_url, target)
    assert response.status_code == 404, (target, response.text)
    assert response.json() == {"detail": "not served through this proxy"}


def test_oversized_requests_are_refused(nginx_url: str) -> None:
    huge_header = httpx.get(nginx_url + "/api/catalog/stats", headers={"X-Big": "a" * 20_000})
    assert huge_header.status_code in (400, 431)
    huge_body = httpx.post(nginx_url + "/api/registry/models", content=b"x" * (1024 * 1024 + 1))
    assert huge_body.status_code == 413


def test_forwarded_for_is_the_peer_only() -> None:
    text = render({"NGINX_LISTEN": "80", "FRONTEND_ADDR": "f:1", "CATALOG_ADDR": "c:1",
                   "REGISTRY_ADDR": "r:1", "RECOMMENDER_ADDR": "x:1"})
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text
