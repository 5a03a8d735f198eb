"""Startup rules: production needs real secrets; development invents a password once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.admin_auth import AdminAuth
from services.registry.config import Settings
from services.registry.main import create_registry_app
from tests.registry.support import ADMIN, PASSWORD, build_settings, running, sign_in
from tests.utils.servers import ROOT


def production(sqlite_url: str, **values: object) -> Settings:
    return Settings(ENVIRONMENT="production", DATABASE_URL=sqlite_url, **values)  # type: ignore[arg-type]


def test_production_refuses_to_start_without_credentials(sqlite_url: str) -> None:
    with pytest.raises(SystemExit) as exc:
        create_registry_app(production(sqlite_url))
    message = str(exc.value)
    assert "ADMIN_USERNAME is not set" in message
    assert "ADMIN_PASSWORD or ADMIN_PASSWORD_HASH is not set" in message
    assert "SECRET_KEY is not set" in message


def test_production_refuses_placeholder_and_short_secrets(sqlite_url: str) -> None:
    settings = production(
        sqlite_url,
        ADMIN_USERNAME="admin",
        ADMIN_PASSWORD="changethis",
        SECRET_KEY="short",
        API_TOKEN="changeme",
    )
    with pytest.raises(SystemExit) as exc:
        create_registry_app(settings)
    message = str(exc.value)
    assert "ADMIN_PASSWORD is a placeholder value" in message
    assert "SECRET_KEY must be at least 32 characters" in message
    assert "API_TOKEN is a placeholder value" in message


def test_a_hash_that_is_not_argon2_stops_the_start(sqlite_url: str) -> None:
    settings = build_settings(sqlite_url, ADMIN_PASSWORD_HASH="$2b$12$bcrypt-is-not-argon2")
    with pytest.raises(SystemExit, match="ADMIN_PASSWORD_HASH is not an argon2 hash"):
        create_registry_app(settings)


def test_the_real_server_exits_naming_what_is_missing(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ADMIN_", "SECRET_KEY", "API_TOKEN", "ENVIRONMENT"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'r.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "services.registry.main:app", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "registry refuses to start with ENVIRONMENT=production" in result.stderr
    assert "ADMIN_USERNAME is not set" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_plain_password_is_hashed_and_dropped(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    settings = build_settings(sqlite_url, ADMIN_PASSWORD_HASH=None, ADMIN_PASSWORD=PASSWORD)
    credentials = AdminAuth.from_settings(settings, service="registry").credentials
    assert credentials is not None
    assert settings.ADMIN_PASSWORD is None
    assert "ADMIN_PASSWORD" not in os.environ
    assert PASSWORD not in repr(settings)
    assert credentials.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert credentials.verify(ADMIN, PASSWORD)


async def test_development_without_a_password_disables_sign_in_and_logs_no_password(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing is made up and logged: the log (kept on disk by `videorecs up`) says once
    which setting opens sign-in, and until then no password signs in."""
    settings = build_settings(
        sqlite_url,
        ENVIRONMENT="development",
        ADMIN_USERNAME=None,
        ADMIN_PASSWORD_HASH=None,
        SECRET_KEY=None,
    )
    async with running(settings) as client:
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
        notes = [line["message"] for line in lines if "sign-in is disabled" in line["message"]]
        assert notes == [
            "registry: no ADMIN_PASSWORD set: admin sign-in is disabled until ADMIN_PASSWORD "
            "or ADMIN_PASSWORD_HASH is set"
        ]
        assert not any("development sign-in is" in line["message"] for line in lines)
        for guess in ("admin", "", "password"):
            assert (await sign_in(client, "admin", guess)).status_code == 401
    assert not any("sign-in is disabled" in line for line in capsys.readouterr().err.splitlines())


def test_cookie_is_secure_by_default_in_production(sqlite_url: str) -> None:
    values = {
        "ADMIN_USERNAME": ADMIN,
        "ADMIN_PASSWORD": "a-long-real-password",
        "SECRET_KEY": "k" * 32,
    }
    assert production(sqlite_url, **values).cookie_secure is True
    assert production(sqlite_url, SESSION_COOKIE_SECURE=False, **values).cookie_secure is False
    assert build_settings(sqlite_url).cookie_secure is False


def test_root_path_must_be_a_path(sqlite_url: str) -> None:
    assert build_settings(sqlite_url, ROOT_PATH="/api/registry/").ROOT_PATH == "/api/registry"
    with pytest.raises(ValueError, match="must start with '/'"):
        build_settings(sqlite_url, ROOT_PATH="api/registry")
