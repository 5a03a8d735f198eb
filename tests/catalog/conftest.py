"""Catalog fixtures: tiny MovieLens folders for unit tests, ml-100k loaded once per backend."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from services.catalog.config import Settings
from services.catalog.loader import TABLE_COLUMNS, load_movielens
from services.catalog.main import create_catalog_app
from services.common.db import create_engine
from tests.utils.databases import BACKENDS, new_database_url

FLAGS = "|".join(["0"] * 19)


def item_line(
    movie_id: int, title: str, genres: tuple[int, ...] = (), date: str = "01-Jan-1995"
) -> str:
    flags = ["1" if i in genres else "0" for i in range(19)]
    return f"{movie_id}|{title}|{date}||http://imdb/{movie_id}|" + "|".join(flags)


SMALL_USERS = ["1|24|M|technician|85711", "2|53|F|other|94043", "3|23|M|writer|32067"]
SMALL_ITEMS = [
    item_line(1, "Toy Story (1995)", (3, 4, 5)),
    item_line(2, "Usual Suspects, The (1995)", (6, 16)),
    item_line(3, "Scream (1996)", (11, 16), "20-Dec-1996"),
]
SMALL_REVIEWS = [
    "1\t1\t5\t881250949",
    "1\t2\t4\t881250950",
    "2\t1\t3\t881250951",
    "2\t3\t5\t881250952",
    "3\t3\t4\t881250953",
]


def write_small(
    folder: Path, *, users=SMALL_USERS, items=SMALL_ITEMS, reviews=SMALL_REVIEWS
) -> Path:
    """A three-user, three-movie MovieLens folder (u.item in latin-1, like the real one)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.user").write_text("\n".join(users) + "\n", encoding="latin-1")
    (folder / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    (folder / "u.data").write_text("\n".join(reviews) + "\n", encoding="ascii")
    return folder


@pytest.fixture
def small_dir(tmp_path: Path) -> Path:
    return write_small(tmp_path / "ml-small")


async def table_digest(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a SHA-256 of every catalog table's sorted rows."""
    engine = create_engine(database_url)
    digests = {}
    try:
        async with engine.connect() as conn:
            for name, columns in TABLE_COLUMNS.items():
                table = SQLModel.metadata.tables[name]
                cols = [table.c[c] for c in columns]
                rows = (await conn.execute(sa.select(*cols).order_by(*cols))).all()
                text = "\n".join(repr(tuple(row)) for row in rows)
                digests[name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    finally:
        await engine.dispose()
    return digests


@pytest.fixture(scope="module", params=BACKENDS)
async def loaded_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    movielens_dir: Path,
    posters_file: Path,
) -> str:
    """ml-100k with posters, loaded once per backend per test module."""
    url = await new_database_url(str(request.param), tmp_path_factory.mktemp("catalog"))
    await load_movielens(database_url=url, data_dir=movielens_dir, posters=posters_file)
    return url


@pytest.fixture(scope="module")
async def client(loaded_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog app on the loaded database, driven in-process through ASGITransport."""
    app = create_catalog_app(Settings(DATABASE_URL=loaded_url, ENVIRONMENT="test"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as http:
            yield http
