"""Database ids typed by hand in a query string (`?ids=1,2,3`, `?models=1,2`).

`str.isdigit()` and `int()` accept every Unicode digit: `'²'.isdigit()` is true and
`int('²')` raises, `int('١')` is 1, and `int()` of more than 4,300 digits raises too.
Ids are checked as ASCII digits and bounded before `int()` sees them, so a bad one is a
422 naming it, never a 500 or a driver overflow.
"""

from __future__ import annotations

import re

# The database's INTEGER columns are 32-bit (PostgreSQL's integer, SQLite's rowids fit).
MAX_ID = 2**31 - 1
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


def parse_id(text: str, *, max_id: int = MAX_ID) -> int | None:
    """The id `text` spells in ASCII digits, if it is within 1..max_id; else None."""
    if _ASCII_NUMBER.fullmatch(text) is None:
        return None
    number = int(text)
    return number if 1 <= number <= max_id else None


def quoted(text: str, limit: int = 24) -> str:
    """`text` quoted for an error message, shortened so a megabyte of input stays out."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"
