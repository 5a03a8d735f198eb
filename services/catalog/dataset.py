"""Parse the ml-100k files (and the lab's poster file) into rows, checking every line.

Everything is read and validated before the database is touched, so a malformed file
fails with its name and line number and the database stays as it was.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from services.catalog.genres import ALL_GENRES, GENRES

REQUIRED_FILES = ("u.user", "u.item", "u.data")
ITEM_FIELDS = 5 + len(GENRES)  # id, title, release date, video release date, IMDb URL, flags
POSTER_FIELDS = 5 + len(GENRES)  # id, title, year, (empty), poster URL, flags
POSITIVE_RATING = 4
# Ids and counts are 32-bit columns; timestamps are 64-bit.
MAX_INT = 2**31 - 1
MAX_TIMESTAMP = 2**63 - 1  # 4 and 5 stars: the reviews models train on
# "Toy Story (1995)", "Land Before Time III: ... (1995) (V)"; the year goes to its own column.
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})\)\s*(?:\(V\))?\s*$")

UserRow = tuple[int, int, str, str, str, int]  # id, age, gender, occupation, zip, review_count
MovieRow = tuple[int, str, int | None, date | None, str | None, str | None, int]
ReviewRow = tuple[int, int, int, int]  # user_id, movie_id, rating, timestamp
PopularityRow = tuple[str, int, int]  # genre slug or "all", movie_id, positive reviews


class DataFileError(ValueError):
    """A line of an input file is malformed; the message names the file and the line."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path} line {line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


@dataclass
class Dataset:
    """Rows ready to load, in table column order."""

    users: list[UserRow] = field(default_factory=list)
    movies: list[MovieRow] = field(default_factory=list)
    reviews: list[ReviewRow] = field(default_factory=list)
    popularity: list[PopularityRow] = field(default_factory=list)


def _lines(path: Path, encoding: str) -> list[tuple[int, str]]:
    """Numbered non-blank lines without their line ending."""
    with path.open(encoding=encoding, newline="") as handle:
        return [
            (number, line.rstrip("\r\n"))
            for number, line in enumerate(handle, start=1)
            if line.strip()
        ]


def _int(path: Path, line: int, what: str, value: str, *, low: int = 0, high: int = MAX_INT) -> int:
    try:
        number = int(value)
    except ValueError:
        raise DataFileError(path, line, f"{what} {value!r} is not an integer") from None
    if not low <= number <= high:
        raise DataFileError(path, line, f"{what} {number} is outside {low}..{high}")
    return number


def _fields(path: Path, line: int, fields: list[str], expected: int) -> list[str]:
    if len(fields) != expected:
        raise DataFileError(path, line, f"expected {expected} fields, found {len(fields)}")
    return fields


def parse_users(path: Path) -> list[tuple[int, int, str, str, str]]:
    """u.user: `id|age|gender|occupation|zip`."""
    rows: list[tuple[int, int, str, str, str]] = []
    seen: set[int] = set()
    for number, line in _lines(path, "latin-1"):
        user_id, age, gender, occupation, zip_code = _fields(path, number, line.split("|"), 5)
        uid = _int(path, number, "user id", user_id, low=1)
        if uid in seen:
            raise DataFileError(path, number, f"duplicate user id {uid}")
        if gender not in ("M", "F"):
            raise DataFileError(path, number, f"gender {gender!r} is not M or F")
        if not occupation or len(occupation) > 32 or len(zip_code) > 10:
            raise DataFileError(path, number, "occupation or zip code is empty or too long")
        seen.add(uid)
        rows.append((uid, _int(path, number, "age", age, high=200), gender, occupation, zip_code))
    return rows


def _release_date(path: Path, line: int, value: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%d-%b-%Y").date()
    except ValueError:
        raise DataFileError(path, line, f"release date {value!r} is not like 01-Jan-1995") from None


def _genre_flags(path: Path, line: int, flags: list[str]) -> int:
    bits = 0
    for index, flag in enumerate(flags):
        if flag not in ("0", "1"):
            raise DataFileError(path, line, f"genre flag {index} is {flag!r}, not 0 or 1")
        bits |= int(flag) << index
    return bits


def parse_movies(path: Path) -> list[MovieRow]:
    """u.item (latin-1): `id|title (year)|release date|video release date|IMDb URL|19 flags`."""
    rows: list[MovieRow] = []
    seen: set[int] = set()
    for number, line in _lines(path, "latin-1"):
        fields = _fields(path, number, line.split("|"), ITEM_FIELDS)
        movie_id = _int(path, number, "movie id", fields[0], low=1)
        if movie_id in seen:
            raise DataFileError(path, number, f"duplicate movie id {movie_id}")
        seen.add(movie_id)
        released = _release_date(path, number, fields[2])
        title, year = fields[1].strip(), released.year if released else None
        if match := _TITLE_YEAR.match(title):
            title, year = match["title"], int(match["year"])
        if not title or len(title) > 256:
            raise DataFileError(path, number, "title is empty or longer than 256 characters")
        flags = _genre_flags(path, number, fields[5:])
        rows.append((movie_id, title, year, released, fields[4] or None, None, flags))
    return rows


def parse_reviews(path: Path, *, users: set[int], movies: set[int]) -> list[ReviewRow]:
    """u.data: `user id<TAB>movie id<TAB>rating<TAB>timestamp`, every user and movie known."""
    rows: list[ReviewRow] = []
    seen: set[tuple[int, int]] = set()
    for number, line in _lines(path, "ascii"):
        user, movie, rating, timestamp = _fields(path, number, line.split("\t"), 4)
        uid = _int(path, number, "user id", user, low=1)
        mid = _int(path, number, "movie id", movie, low=1)
        stars = _int(path, number, "rating", rating, low=1, high=5)
        when = _int(path, number, "timestamp", timestamp, high=MAX_TIMESTAMP)
        if uid not in users:
            raise DataFileError(path, number, f"review of unknown user {uid}")
        if mid not in movies:
            raise DataFileError(path, number, f"review of unknown movie {mid}")
        if (uid, mid) in seen:
            raise DataFileError(path, number, f"duplicate review of movie {mid} by user {uid}")
        seen.add((uid, mid))
        rows.append((uid, mid, stars, when))
    return rows


def parse_posters(path: Path, *, movies: set[int]) -> dict[int, str | None]:
    """The lab's u.item: tab-separated, CRLF, quoted titles; poster URL in the fifth column."""
    posters: dict[int, str | None] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        # The csv module handles the quoted titles ("Usual Suspects, The") and URLs.
        reader = csv.reader(handle, delimiter="\t")
        for fields in reader:
            number = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            _fields(path, number, fields, POSTER_FIELDS)
            movie_id = _int(path, number, "movie id", fields[0], low=1)
            if movie_id not in movies:
                raise DataFileError(path, number, f"poster for unknown movie {movie_id}")
            url = fields[4].strip()
            if len(url) > 512:
                raise DataFileError(path, number, "poster URL is longer than 512 characters")
            posters[movie_id] = url or None
    return posters


def popularity(movies: list[MovieRow], reviews: list[ReviewRow]) -> list[PopularityRow]:
    """4-5 star review counts per movie, for "all" and for each genre the movie has."""
    positive = Counter(movie for _, movie, rating, _ in reviews if rating >= POSITIVE_RATING)
    rows: list[PopularityRow] = []
    for movie_id, *_, flags in movies:
        count = positive.get(movie_id, 0)
        if not count:
            continue
        rows.append((ALL_GENRES, movie_id, count))
        rows.extend((g.slug, movie_id, count) for g in GENRES if flags >> g.index & 1)
    return rows


def read_dataset(data_dir: Path, posters: Path | None = None) -> Dataset:
    """Read and check u.user, u.item, u.data (and the poster file); derive counts."""
    missing = [name for name in REQUIRED_FILES if not (data_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{data_dir} has no {', '.join(missing)}: not an ml-100k folder")
    users = parse_users(data_dir / "u.user")
    movies = parse_movies(data_dir / "u.item")
    reviews = parse_reviews(
        data_dir / "u.data", users={u[0] for u in users}, movies={m[0] for m in movies}
    )
    if posters is not None:
        urls = parse_posters(posters, movies={m[0] for m in movies})
        movies = [(*m[:5], urls.get(m[0]), m[6]) for m in movies]
    review_counts = Counter(user for user, *_ in reviews)
    return Dataset(
        users=[(*u, review_counts.get(u[0], 0)) for u in users],
        movies=movies,
        reviews=reviews,
        popularity=popularity(movies, reviews),
    )
