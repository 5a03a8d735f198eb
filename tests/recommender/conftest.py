"""The real stack for the recommender's integration tests.

`lab_stack` (tests/conftest.py, tests/utils/stack.py) runs engine, catalog, registry
and recommender as real uvicorn processes on loopback, with ml-100k imported, every
recipe trained and the models registered; its recommender excludes rated films with
the pipeline's EXCLUDE filter. The helpers here start extra instances for the tests
that need other settings or that stop a service.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.catalog.loader import load_movielens
from tests.utils.credentials import engine_keys_env
from tests.utils.stack import Stack

PERSONAL = "Personal Recommendations"
POPULAR = "Popular Movies"
RANKING = "Personal Ranking"
SIMILAR = "Similar Items"
RECIPES = {
    PERSONAL: "aws-user-personalization",
    POPULAR: "aws-popularity-count",
    RANKING: "aws-personalized-ranking",
    SIMILAR: "aws-sims",
}


async def load_catalog(tmp: Path, movielens_dir: Path, posters_file: Path) -> str:
    """A fresh SQLite catalog holding ml-100k; returns its URL."""
    url = f"sqlite+aiosqlite:///{tmp / 'catalog.db'}"
    await load_movielens(database_url=url, data_dir=movielens_dir, posters=posters_file)
    return url


def registry_env(tmp: Path, engine_url: str, api_token: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'registry.db'}",
        "PERSONALIZE_ENDPOINT_URL": engine_url,
        **engine_keys_env(),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "API_TOKEN": api_token,
    }


def recommender_env(
    *, catalog_url: str, registry_url: str, engine_url: str, **extra: str
) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "CATALOG_URL": catalog_url,
        "REGISTRY_URL": registry_url,
        "PERSONALIZE_ENDPOINT_URL": engine_url,
        **engine_keys_env(),
        **extra,
    }


@pytest.fixture(scope="session")
def stack(lab_stack: Stack) -> Stack:
    return lab_stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.recommender_url, timeout=30) as http:
        yield http


@pytest.fixture
async def catalog(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.catalog_url, timeout=30) as http:
        yield http
