"""Loading into SQLite and PostgreSQL: counts, idempotence, updates, transactional failure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.catalog.dataset import DataFileError
from services.catalog.loader import load_movielens
from services.common.db import create_engine
from tests.catalog.conftest import SMALL_REVIEWS, SMALL_USERS, table_digest, write_small

ROOT = Path(__file__).resolve().parents[2]


async def table_names(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_full_load_then_reload_is_a_no_op(
    database_url: str, movielens_dir: Path, posters_file: Path
) -> None:
    first = await load_movielens(
        database_url=database_url, data_dir=movielens_dir, posters=posters_file
    )
    assert {n: (t.rows, t.inserted) for n, t in first.tables.items()} == {
        "users": (943, 943),
        "movies": (1682, 1682),
        "reviews": (100000, 100000),
        "movie_popularity": (4010, 4010),
    }
    before = await table_digest(database_url)
    assert {n: count for n, (count, _) in before.items()} == {
        "users": 943,
        "movies": 1682,
        "reviews": 100000,
        "movie_popularity": 4010,
    }

    second = await load_movielens(
        database_url=database_url, data_dir=movielens_dir, posters=posters_file
    )
    assert not second.changed
    assert all((t.inserted, t.updated, t.deleted) == (0, 0, 0) for t in second.tables.values())
    assert await table_digest(database_url) == before


async def test_changed_files_are_synchronised(database_url: str, small_dir: Path) -> None:
    await load_movielens(database_url=database_url, data_dir=small_dir, posters=None)
    # User 3 leaves with their review, review (1, 2) changes from 4 to 2 stars.
    reviews = [SMALL_REVIEWS[0], "1\t2\t2\t881250950", *SMALL_REVIEWS[2:4]]
    write_small(small_dir, users=SMALL_USERS[:2], reviews=reviews)
    report = await load_movielens(database_url=database_url, data_dir=small_dir, posters=None)
    changes = {n: (t.inserted, t.updated, t.deleted) for n, t in report.tables.items()}
    assert changes["users"] == (0, 0, 1)
    assert changes["reviews"] == (0, 1, 1)
    # Movie 2 lost its only positive review; movie 3 went from 2 to 1 ("all", horror, thriller).
    assert changes["movie_popularity"] == (0, 3, 3)
    engine = create_engine(database_url)
    async with engine.connect() as conn:
        rating = await conn.scalar(
            sa.text("SELECT rating FROM reviews WHERE user_id = 1 AND movie_id = 2")
        )
        popular = (
            await conn.execute(
                sa.text(
                    "SELECT movie_id, positive_reviews FROM movie_popularity"
                    " WHERE genre = 'all' ORDER BY movie_id"
                )
            )
        ).all()
    await engine.dispose()
    assert rating == 2
    assert [tuple(r) for r in popular] == [(1, 1), (3, 1)]


MALFORMED = [
    pytest.param(
        "u.user", "1|24|M|technician", "u.user line 1: expected 5 fields, found 4", id="fields"
    ),
    pytest.param(
        "u.item",
        "x|Toy Story (1995)|01-Jan-1995||u|" + "|".join("0" * 19),
        "u.item line 1: movie id 'x' is not an integer",
        id="non-integer-id",
    ),
    pytest.param(
        "u.data", "1\t1\t9\t881250949", "u.data line 1: rating 9 is outside 1..5", id="rating"
    ),
    pytest.param(
        "u.data", "7\t1\t5\t881250949", "u.data line 1: review of unknown user 7", id="unknown-user"
    ),
    pytest.param(
        "u.data",
        "1\t42\t5\t881250949",
        "u.data line 1: review of unknown movie 42",
        id="unknown-movie",
    ),
]


@pytest.mark.parametrize(("file", "line", "message"), MALFORMED)
async def test_malformed_file_leaves_database_unchanged(
    database_url: str, small_dir: Path, tmp_path: Path, file: str, line: str, message: str
) -> None:
    await load_movielens(database_url=database_url, data_dir=small_dir, posters=None)
    before = await table_digest(database_url)
    bad = tmp_path / "bad"
    shutil.copytree(small_dir, bad)
    with (bad / file).open("a", encoding="latin-1") as handle:
        handle.write(line + "\n")
    lines_before = len((small_dir / file).read_text(encoding="latin-1").splitlines())
    expected = message.replace("line 1:", f"line {lines_before + 1}:")
    with pytest.raises(DataFileError) as caught:
        await load_movielens(database_url=database_url, data_dir=bad, posters=None)
    assert str(caught.value) == f"{bad}/{expected}"
    assert await table_digest(database_url) == before


async def test_bad_poster_file_leaves_fresh_database_untouched(
    database_url: str, small_dir: Path, tmp_path: Path
) -> None:
    posters = tmp_path / "posters.item"
    posters.write_bytes(
        b'9\tNine\t1995\t\t"https://img/9.jpg"\t' + b"\t".join([b"0"] * 19) + b"\r\n"
    )
    with pytest.raises(DataFileError, match=r"posters.item line 1: poster for unknown movie 9"):
        await load_movielens(database_url=database_url, data_dir=small_dir, posters=posters)
    # Files are checked before migrations run: not even the schema was created.
    assert await table_names(database_url) == set()


def run_loader(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MOVIELENS_"))}
    return subprocess.run(
        [sys.executable, "-m", "services.catalog.loader", *args],
        cwd=ROOT,
        env={**base, "LOG_LEVEL": "WARNING", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_loads_and_reports(database_url: str, small_dir: Path, tmp_path: Path) -> None:
    plain_url = database_url.replace("+asyncpg", "").replace("+aiosqlite", "")
    done = run_loader("--data", str(small_dir), "--database-url", plain_url)
    assert done.returncode == 0, done.stderr
    assert "users 3 (+3 ~0 -0)" in done.stdout and "reviews 5 (+5 ~0 -0)" in done.stdout
    # DATABASE_URL from the environment, data from MOVIELENS_DIR; nothing left to change.
    again = run_loader(env={"DATABASE_URL": plain_url, "MOVIELENS_DIR": str(small_dir)})
    assert again.returncode == 0, again.stderr
    assert "reviews 5 (+0 ~0 -0)" in again.stdout

    (small_dir / "u.data").write_text("1\t1\t5\n")
    failed = run_loader("--data", str(small_dir), "--database-url", plain_url)
    assert failed.returncode == 1
    assert failed.stderr == f"error: {small_dir}/u.data line 1: expected 4 fields, found 3\n"


def test_cli_names_missing_database_url(small_dir: Path) -> None:
    done = run_loader("--data", str(small_dir))
    assert done.returncode == 1
    assert "DATABASE_URL is not set" in done.stderr
    assert "Traceback" not in done.stderr


async def test_database_failure_mid_load_rolls_everything_back(
    database_url: str, small_dir: Path
) -> None:
    await load_movielens(database_url=database_url, data_dir=small_dir, posters=None)
    before = await table_digest(database_url)
    # A trigger refuses one new review, so the load fails after it has already updated
    # users and movies in its transaction: none of that may survive.
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        if database_url.startswith("sqlite"):
            await conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON reviews WHEN NEW.movie_id = 3 "
                    "AND NEW.user_id = 1 BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
                )
            )
        else:
            await conn.execute(
                sa.text(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "IF NEW.movie_id = 3 AND NEW.user_id = 1 THEN "
                    "RAISE EXCEPTION 'refused by trigger'; END IF; RETURN NEW; END $$"
                )
            )
            await conn.execute(
                sa.text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON reviews "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
    await engine.dispose()
    users = ["1|99|M|technician|85711", *SMALL_USERS[1:]]
    write_small(small_dir, users=users, reviews=[*SMALL_REVIEWS, "1\t3\t5\t881250999"])
    with pytest.raises(Exception, match="refused by trigger"):
        await load_movielens(database_url=database_url, data_dir=small_dir, posters=None)
    assert await table_digest(database_url) == before
