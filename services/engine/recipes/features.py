"""Metadata as sparse one-hot features (item GENRES/YEAR, user AGE/GENDER/OCCUPATION).

Categorical columns become one token per value; a "|"-separated column (GENRES) gives one
token per part; numeric AGE/YEAR columns are bucketed (decades for YEAR, the MovieLens
age bands for AGE) so that near values share a token. Columns with more distinct tokens
than max(50, 20 % of the rows) are id-like and skipped.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

AGE_BANDS = (18, 25, 35, 45, 50, 56)
MAX_TOKENS_FLOOR = 50
MAX_TOKEN_SHARE = 0.2


def token(column: str, raw: object) -> list[str]:
    """Feature tokens of one metadata value."""
    if raw is None:
        return []
    text = str(raw).strip()
    if not text or text.lower() in {"nan", "none"}:
        return []
    name = column.upper()
    if name == "YEAR":
        try:
            return [f"YEAR={int(float(text)) // 10 * 10}s"]
        except ValueError:
            return []
    if name == "AGE":
        try:
            age = float(text)
        except ValueError:
            return []
        band = sum(age >= edge for edge in AGE_BANDS)
        return [f"AGE={band}"]
    return [f"{name}={part.strip().lower()}" for part in text.split("|") if part.strip()]


def one_hot(columns: dict[str, np.ndarray] | None, n_rows: int) -> tuple[sp.csr_matrix, list[str]]:
    """Rows × tokens binary matrix and the token vocabulary (sorted)."""
    if not columns:
        return sp.csr_matrix((n_rows, 0), dtype=np.float32), []
    rows: list[int] = []
    names: list[str] = []
    for column, values in columns.items():
        col_rows: list[int] = []
        col_names: list[str] = []
        for row, raw in enumerate(values.tolist()):
            for tok in token(column, raw):
                col_rows.append(row)
                col_names.append(tok)
        # Id-like columns (TITLE, URL, ZIP, timestamps) have about one value per row: they
        # say nothing shared between rows and would only grow the model, so they are skipped.
        if len(set(col_names)) > max(MAX_TOKENS_FLOOR, MAX_TOKEN_SHARE * n_rows):
            continue
        rows.extend(col_rows)
        names.extend(col_names)
    vocab = sorted(set(names))
    index = {tok: i for i, tok in enumerate(vocab)}
    cols = [index[tok] for tok in names]
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_rows, len(vocab))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix, vocab


def user_tokens(features: dict[str, str] | None, vocab_index: dict[str, int]) -> np.ndarray:
    """Indices of a request's user features in the training vocabulary (unknown ones dropped)."""
    if not features:
        return np.empty(0, dtype=np.int64)
    found = {
        vocab_index[tok]
        for col, raw in features.items()
        for tok in token(col, raw)
        if tok in vocab_index
    }
    return np.array(sorted(found), dtype=np.int64)
