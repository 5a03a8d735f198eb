"""Settings: fail fast naming the variable; DATABASE_URL normalised to an async driver."""

from __future__ import annotations

import pytest

from services.common.config import (
    BaseServiceSettings,
    DatabaseSettings,
    load_settings,
    normalise_database_url,
)


class ServiceSettings(DatabaseSettings):
    API_TOKEN: str


def test_missing_variables_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("API_TOKEN", raising=False)
    with pytest.raises(SystemExit) as caught:
        load_settings(ServiceSettings)
    assert str(caught.value) == ("ServiceSettings: DATABASE_URL is not set; API_TOKEN is not set")


def test_invalid_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://db/x")
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(SystemExit) as caught:
        load_settings(DatabaseSettings)
    message = str(caught.value)
    assert message.startswith("DatabaseSettings: ")
    assert "ENVIRONMENT: Input should be 'development', 'production' or 'test'" in message
    assert "DATABASE_URL: Value error, must be a postgresql:// or sqlite:// URL" in message


def test_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", " postgres://u:p@db:5432/app ")
    monkeypatch.setenv("ENVIRONMENT", "test")
    settings = load_settings(DatabaseSettings)
    assert settings.DATABASE_URL == "postgresql+asyncpg://u:p@db:5432/app"
    assert settings.is_development
    overridden = load_settings(DatabaseSettings, DATABASE_URL="sqlite:///x.db")
    assert overridden.DATABASE_URL == "sqlite+aiosqlite:///x.db"
    assert not load_settings(BaseServiceSettings, ENVIRONMENT="production").is_development


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h:5433/db", "postgresql+asyncpg://u@h:5433/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
        ("sqlite:////abs/a.db", "sqlite+aiosqlite:////abs/a.db"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
    ],
)
def test_normalise_database_url(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected
