"""Parsing the MovieLens files: values, genres, posters and file+line errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.catalog.dataset import DataFileError, read_dataset
from services.catalog.genres import GENRES, genre_slugs
from tests.catalog.conftest import FLAGS, SMALL_ITEMS, SMALL_REVIEWS, SMALL_USERS, write_small


def test_small_dataset_values(small_dir: Path) -> None:
    data = read_dataset(small_dir)
    assert data.users[0] == (1, 24, "M", "technician", "85711", 2)
    assert [u[5] for u in data.users] == [2, 2, 1]  # review counts
    movie = data.movies[1]
    assert movie == (
        2,
        "Usual Suspects, The",
        1995,
        date(1995, 1, 1),
        "http://imdb/2",
        None,
        (1 << 6) | (1 << 16),
    )
    assert genre_slugs(data.movies[2][6]) == ["horror", "thriller"]
    assert data.reviews[3] == (2, 3, 5, 881250952)
    # 4-5 star counts: movie 1 once (user 1), 2 once, 3 twice; per genre and for "all".
    popular = {(g, m): n for g, m, n in data.popularity}
    assert popular[("all", 3)] == 2 and popular[("horror", 3)] == 2
    assert popular[("all", 1)] == 1 and ("comedy", 1) in popular
    assert ("horror", 1) not in popular


def test_title_year_and_latin1(tmp_path: Path) -> None:
    items = [
        "1|Land Before Time III: The Time of the Great Giving (1995) (V)|01-Jan-1995||u|" + FLAGS,
        "2|Misérables, Les (1995)|01-Jan-1995||u|" + FLAGS,
        "3|unknown||||1" + "|0" * 18,
        "4|Heidi Fleiss: Hollywood Madam (1995) |01-Jan-1995||u|" + FLAGS,
    ]
    data = read_dataset(write_small(tmp_path, items=items, reviews=[]))
    assert [(m[1], m[2]) for m in data.movies] == [
        ("Land Before Time III: The Time of the Great Giving", 1995),
        ("Misérables, Les", 1995),
        ("unknown", None),
        ("Heidi Fleiss: Hollywood Madam", 1995),
    ]
    assert data.movies[2][3:5] == (None, None)
    assert genre_slugs(data.movies[2][6]) == ["unknown"]


def test_real_files(movielens_dir: Path, posters_file: Path) -> None:
    data = read_dataset(movielens_dir, posters_file)
    assert (len(data.users), len(data.movies), len(data.reviews)) == (943, 1682, 100000)
    toy_story = data.movies[0]
    assert toy_story[1:3] == ("Toy Story", 1995)
    assert toy_story[5].startswith("https://m.media-amazon.com/")
    assert genre_slugs(toy_story[6]) == ["animation", "childrens", "comedy"]
    assert all(m[5] for m in data.movies)  # every movie got its poster by id
    # Genre counts of the reference table (unknown 2, Action 251, ..., Western 27).
    counts = [sum(m[6] >> g.index & 1 for m in data.movies) for g in GENRES]
    assert counts == [
        2,
        251,
        135,
        42,
        122,
        505,
        109,
        50,
        725,
        22,
        24,
        92,
        56,
        61,
        247,
        101,
        251,
        71,
        27,
    ]


def test_posters_csv_quoting(small_dir: Path, tmp_path: Path) -> None:
    posters = tmp_path / "posters.item"
    lines = [
        '1\tToy Story\t1995\t\t"https://img/1.jpg"\t' + "\t".join("0" * 19),
        '2\t"Usual Suspects, The"\t1995\t\t"https://img/a,b.jpg"\t' + "\t".join("0" * 19),
    ]
    posters.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    data = read_dataset(small_dir, posters)
    assert [m[5] for m in data.movies] == ["https://img/1.jpg", "https://img/a,b.jpg", None]


@pytest.mark.parametrize(
    ("file", "lines", "message"),
    [
        pytest.param(
            "u.user",
            [*SMALL_USERS[:1], "2|53|F|other"],
            "u.user line 2: expected 5 fields, found 4",
            id="user-fields",
        ),
        pytest.param(
            "u.user",
            ["x|24|M|technician|85711"],
            "u.user line 1: user id 'x' is not an integer",
            id="user-id",
        ),
        pytest.param(
            "u.user",
            [*SMALL_USERS, "1|30|M|writer|1"],
            "u.user line 4: duplicate user id 1",
            id="user-dup",
        ),
        pytest.param(
            "u.item",
            [*SMALL_ITEMS[:2], "3|Scream (1996)|01-Jan-1996||u|0"],
            "u.item line 3: expected 24 fields, found 6",
            id="item-fields",
        ),
        pytest.param(
            "u.item",
            ["1.5|Toy Story (1995)|01-Jan-1995||u|" + FLAGS],
            "u.item line 1: movie id '1.5' is not an integer",
            id="item-id",
        ),
        pytest.param(
            "u.data",
            [*SMALL_REVIEWS[:2], "2\t1\t6\t881250951"],
            "u.data line 3: rating 6 is outside 1..5",
            id="rating-high",
        ),
        pytest.param(
            "u.data",
            ["1\t1\t0\t881250949"],
            "u.data line 1: rating 0 is outside 1..5",
            id="rating-zero",
        ),
        pytest.param(
            "u.data", ["1\t1\t5"], "u.data line 1: expected 4 fields, found 3", id="data-fields"
        ),
        pytest.param(
            "u.data",
            [*SMALL_REVIEWS[:4], "9\t1\t5\t881250949"],
            "u.data line 5: review of unknown user 9",
            id="unknown-user",
        ),
        pytest.param(
            "u.data",
            ["1\t99\t5\t881250949"],
            "u.data line 1: review of unknown movie 99",
            id="unknown-movie",
        ),
        pytest.param(
            "u.data",
            ["1\tone\t5\t881250949"],
            "u.data line 1: movie id 'one' is not an integer",
            id="data-id",
        ),
    ],
)
def test_malformed_line(small_dir: Path, file: str, lines: list[str], message: str) -> None:
    (small_dir / file).write_text("\n".join(lines) + "\n", encoding="latin-1")
    with pytest.raises(DataFileError) as caught:
        read_dataset(small_dir)
    assert str(caught.value) == f"{small_dir}/{message}"


def test_missing_file(small_dir: Path) -> None:
    (small_dir / "u.data").unlink()
    with pytest.raises(FileNotFoundError, match="has no u.data: not an ml-100k folder"):
        read_dataset(small_dir)
