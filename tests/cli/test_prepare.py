"""The lab's training CSV: ratings above 3.6, three columns, timestamps shifted."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.cli.prepare import DataError, prepare_interactions


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_ml100k_gives_the_labs_numbers(movielens_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "DEMO-movie-lens-100k.csv"
    report = prepare_interactions(movielens_dir, out)
    assert (report.rows, report.users, report.items) == (55_375, 942, 1_447)
    # workshop-app.md section 5: the shifted range ends on 1 April 2019.
    assert _utc(report.first_timestamp) == "2018-08-29 15:58:48"
    assert _utc(report.last_timestamp) == "2019-04-01 12:04:16"
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["USER_ID", "ITEM_ID", "TIMESTAMP"]
    assert len(rows) == 55_376
    assert "685" not in {row[0] for row in rows[1:]}  # no 4- or 5-star rating


def test_keeps_only_ratings_above_threshold_in_file_order(tmp_path: Path) -> None:
    data = tmp_path / "ml"
    data.mkdir()
    (data / "u.data").write_text("1\t10\t5\t100\n2\t20\t3\t200\n3\t30\t4\t300\n")
    report = prepare_interactions(data, tmp_path / "out.csv", shift_seconds=1000)
    assert report.rows == 2
    assert (tmp_path / "out.csv").read_text().splitlines() == [
        "USER_ID,ITEM_ID,TIMESTAMP",
        "1,10,1100",
        "3,30,1300",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("1\t10\t5\n", "u.data:1: expected 4 tab-separated columns", id="columns"),
        pytest.param("1\t10\t5\t100\n1\t10\tfive\t100\n", "u.data:2: rating and timestamp",
                     id="rating"),
        pytest.param("1\t10\t2\t100\n", "has no rating above 3.6", id="empty"),
    ],
)
def test_bad_input_names_the_line_and_leaves_no_file(
    tmp_path: Path, content: str, message: str
) -> None:
    data = tmp_path / "ml"
    data.mkdir()
    (data / "u.data").write_text(content)
    out = tmp_path / "out" / "x.csv"
    with pytest.raises(DataError, match=message):
        prepare_interactions(data, out)
    if "no rating" not in message:
        assert not out.exists()
    assert not list(out.parent.glob(".interactions-*"))


def test_missing_folder_says_how_to_point_at_the_data(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="MOVIELENS_DIR"):
        prepare_interactions(tmp_path / "nowhere", tmp_path / "x.csv")
