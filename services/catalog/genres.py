"""The 19 MovieLens genre flags, in u.genre order (index = bit in Movie.genre_flags)."""

from __future__ import annotations

from typing import NamedTuple


class GenreInfo(NamedTuple):
    slug: str
    name: str
    index: int


# Fixed by the ml-100k format (u.genre and the 19 flag columns of u.item), so the
# table lives in code: every genre, Horror included, is generated from this one list.
GENRES: tuple[GenreInfo, ...] = tuple(
    GenreInfo(slug, name, index)
    for index, (slug, name) in enumerate(
        [
            ("unknown", "unknown"),
            ("action", "Action"),
            ("adventure", "Adventure"),
            ("animation", "Animation"),
            ("childrens", "Children's"),
            ("comedy", "Comedy"),
            ("crime", "Crime"),
            ("documentary", "Documentary"),
            ("drama", "Drama"),
            ("fantasy", "Fantasy"),
            ("film-noir", "Film-Noir"),
            ("horror", "Horror"),
            ("musical", "Musical"),
            ("mystery", "Mystery"),
            ("romance", "Romance"),
            ("sci-fi", "Sci-Fi"),
            ("thriller", "Thriller"),
            ("war", "War"),
            ("western", "Western"),
        ]
    )
)
GENRE_BY_SLUG = {genre.slug: genre for genre in GENRES}
# Key of the popularity rows that cover every genre.
ALL_GENRES = "all"


def genre_slugs(flags: int) -> list[str]:
    """The slugs of the bits set in `flags`, in u.genre order."""
    return [genre.slug for genre in GENRES if flags >> genre.index & 1]
