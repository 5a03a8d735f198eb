"""docker-compose.yml validates with Debian's docker-compose 1.29 (what CI runs)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.utils.servers import ROOT

REQUIRED = {
    "POSTGRES_PASSWORD": "pg-password-for-tests",
    "ADMIN_PASSWORD": "admin-password-for-tests",
    "SECRET_KEY": "a-secret-key-of-enough-length",
    "API_TOKEN": "an-api-token-of-enough-length",
    "ENGINE_ACCESS_KEY_ID": "VRAKCOMPOSETEST0001",
    "ENGINE_SECRET_ACCESS_KEY": "an-engine-secret-of-enough-length",
}
SERVICES = {"postgres", "engine", "catalog", "registry", "recommender", "frontend", "nginx",
            "bootstrap"}


def _compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: apt-get install -y docker-compose")
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), *args],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60, check=False,
    )


def test_valid_with_the_required_variables() -> None:
    done = _compose("config", "-q", env=REQUIRED)
    assert done.returncode == 0, done.stderr


def test_services_healthchecks_and_startup_order() -> None:
    done = _compose("config", "--services", env=REQUIRED)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == SERVICES
    rendered = _compose("config", env=REQUIRED).stdout
    # Every long-running service has a healthcheck; the one-shot bootstrap has none.
    assert rendered.count("healthcheck:") == len(SERVICES) - 1
    assert "condition: service_healthy" in rendered
    assert "condition: service_started" not in rendered


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_fails_naming_each_missing_variable(missing: str) -> None:
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    done = _compose("config", "-q", env=env)
    assert done.returncode != 0
    assert missing in done.stderr


def test_every_engine_client_gets_the_key_pair() -> None:
    """The engine verifies with the pair; the registry, recommender and bootstrap sign with it."""
    rendered = yaml.safe_load(_compose("config", env=REQUIRED).stdout)
    for name in ("engine", "registry", "recommender", "bootstrap"):
        environment = rendered["services"][name]["environment"]
        assert environment["ENGINE_ACCESS_KEY_ID"] == REQUIRED["ENGINE_ACCESS_KEY_ID"], name
        assert environment["ENGINE_SECRET_ACCESS_KEY"] == REQUIRED["ENGINE_SECRET_ACCESS_KEY"]
    assert "ENGINE_ALLOW_ANONYMOUS" not in rendered["services"]["engine"]["environment"]
