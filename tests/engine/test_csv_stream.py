"""csv_stream.read_csv: typed batches, parse_csv's failures and row numbers, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from services.engine.avro import AvroSchema, SchemaField
from services.engine.csv_stream import read_csv
from services.engine.lifecycle import StepFailed

REPO = Path(__file__).resolve().parents[2]
INTERACTIONS = AvroSchema(
    (
        SchemaField("USER_ID", "string", False),
        SchemaField("ITEM_ID", "string", False),
        SchemaField("TIMESTAMP", "long", False),
    )
)
EVERY_TYPE = AvroSchema(
    (
        SchemaField("USER_ID", "string", False),
        SchemaField("ITEM_ID", "string", False),
        SchemaField("TIMESTAMP", "long", False),
        SchemaField("AGE", "int", True),
        SchemaField("SCORE", "float", True),
        SchemaField("PRICE", "double", False),
        SchemaField("ADULT", "boolean", True),
        SchemaField("GENRE", "string", True, categorical=True),
        SchemaField("Mixed_Case", "long", True),
        SchemaField("ABSENT", "int", True),
        SchemaField("ABSENT_TEXT", "string", True),
    )
)
HEADER = "USER_ID,ITEM_ID,TIMESTAMP\n"


def _write(tmp_path: Path, content: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _rows(path: Path, schema: AvroSchema = INTERACTIONS, **kwargs: int) -> list[dict]:
    return [row for batch in read_csv(path, schema, **kwargs) for row in batch.to_pylist()]


def _failure(path: Path, schema: AvroSchema = INTERACTIONS, **kwargs: int) -> str:
    with pytest.raises(StepFailed) as failed:
        _rows(path, schema, **kwargs)
    return str(failed.value)


def _good_rows(count: int, start: int = 0) -> str:
    return "".join(f"u{n},i{n % 97},{1_600_000_000 + n}\n" for n in range(start, start + count))


# Typed rows.


def test_every_avro_type_is_typed_and_ordered_as_the_schema(tmp_path: Path) -> None:
    text = (
        # Any order and case, spaces around names: matched to the schema as parse_csv did.
        " price ,mixed_case,GENRE,ADULT,SCORE,AGE,TIMESTAMP,ITEM_ID,USER_ID\n"
        "9.99,-5,drama,TRUE,1.5,42,1600000000,i1,u1\n"
        '0.5,,,,,,-9223372036854775808,"i,2",u2\n'
        '1e3,+7,"",false, .25 ,-2147483648,9223372036854775807,i3,"u ""3"""\n'
        "-1E-3, 007 ,x,False,2.,2147483647, -0 ,i4,u4\n"
    )
    batches = list(read_csv(_write(tmp_path, text), EVERY_TYPE))
    schema = batches[0].schema
    assert schema.names == [f.name for f in EVERY_TYPE.fields]
    assert schema.types == [
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.int32(),
        pa.float64(),
        pa.float64(),
        pa.bool_(),
        pa.string(),
        pa.int64(),
        pa.int32(),
        pa.string(),
    ]
    assert [schema.field(f.name).nullable for f in EVERY_TYPE.fields] == [
        f.nullable for f in EVERY_TYPE.fields
    ]
    absent = {"ABSENT": None, "ABSENT_TEXT": None}
    assert [row for b in batches for row in b.to_pylist()] == [
        {
            "USER_ID": "u1",
            "ITEM_ID": "i1",
            "TIMESTAMP": 1600000000,
            "AGE": 42,
            "SCORE": 1.5,
            "PRICE": 9.99,
            "ADULT": True,
            "GENRE": "drama",
            "Mixed_Case": -5,
            **absent,
        },
        {
            "USER_ID": "u2",
            "ITEM_ID": "i,2",
            "TIMESTAMP": -(2**63),
            "AGE": None,
            "SCORE": None,
            "PRICE": 0.5,
            "ADULT": None,
            "GENRE": None,
            "Mixed_Case": None,
            **absent,
        },
        {
            "USER_ID": 'u "3"',
            "ITEM_ID": "i3",
            "TIMESTAMP": 2**63 - 1,
            "AGE": -(2**31),
            "SCORE": 0.25,
            "PRICE": 1000.0,
            "ADULT": False,
            "GENRE": None,  # a quoted empty value is empty too
            "Mixed_Case": 7,
            **absent,
        },
        {
            "USER_ID": "u4",
            "ITEM_ID": "i4",
            "TIMESTAMP": 0,
            "AGE": 2**31 - 1,
            "SCORE": 2.0,
            "PRICE": -0.001,
            "ADULT": False,
            "GENRE": "x",
            "Mixed_Case": 7,
            **absent,
        },
    ]


def test_only_a_header_yields_no_batch(tmp_path: Path) -> None:
    assert list(read_csv(_write(tmp_path, HEADER), INTERACTIONS)) == []
    assert list(read_csv(_write(tmp_path, HEADER.strip()), INTERACTIONS)) == []


def test_a_utf8_bom_is_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, b"\xef\xbb\xbf" + (HEADER + "u\xe9,i1,5\n").encode())
    assert _rows(path) == [{"USER_ID": "u\xe9", "ITEM_ID": "i1", "TIMESTAMP": 5}]


def test_a_column_named_twice_is_checked_twice_and_the_last_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, "USER_ID,ITEM_ID,TIMESTAMP,USER_ID\nu1,i1,5,u2\n")
    assert _rows(path) == [{"USER_ID": "u2", "ITEM_ID": "i1", "TIMESTAMP": 5}]
    path = _write(tmp_path, "USER_ID,ITEM_ID,TIMESTAMP,USER_ID\nu1,i1,5,\n")
    assert _failure(path) == "Row 2: the required column USER_ID is empty."


def test_quoted_commas_newlines_and_quotes(tmp_path: Path) -> None:
    text = HEADER + 'u1,"a,b",1\n"u\n2","line 1\r\nline 2",2\nu3,"say ""hi""",3\nu4,i4,soon\n'
    path = _write(tmp_path, text)
    # A record with newlines inside counts once: the bad row is the fifth record.
    assert _failure(path) == "Row 5: TIMESTAMP value 'soon' is not a valid long."
    path = _write(tmp_path, text.replace("u4,i4,soon\n", ""))
    assert [(r["USER_ID"], r["ITEM_ID"]) for r in _rows(path)] == [
        ("u1", "a,b"),
        ("u\n2", "line 1\r\nline 2"),
        ("u3", 'say "hi"'),
    ]


def test_ids_of_256_characters_pass_whatever_their_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "\xe9" * 256 + ",i1,1\n")  # 512 bytes
    assert _rows(path)[0]["USER_ID"] == "\xe9" * 256


# Blank lines.


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    text = HEADER + "u1,i1,1\n\n\nu2,i2,2\r\n\r\nu3,i3,soon\n"
    assert _failure(_write(tmp_path, text)) == "Row 7: TIMESTAMP value 'soon' is not a valid long."
    text = HEADER + "u1,i1,1\n\n\nu2,i2,2\r\n\r\n\n\n"
    assert [r["USER_ID"] for r in _rows(_write(tmp_path, text))] == ["u1", "u2"]


def test_blank_lines_across_many_blocks(tmp_path: Path) -> None:
    text = HEADER + "\n" * 3000 + _good_rows(200) + "\n" * 2000 + "u,i,later\n"
    path = _write(tmp_path, text)
    assert _failure(path, block_size=1024) == (
        f"Row {2 + 3000 + 200 + 2000}: TIMESTAMP value 'later' is not a valid long."
    )


def test_a_one_column_file_tells_blank_lines_from_quoted_empty_values(tmp_path: Path) -> None:
    schema = AvroSchema((SchemaField("ITEM_ID", "string", False),))
    assert _rows(_write(tmp_path, "ITEM_ID\ni1\n\ni2\n"), schema) == [
        {"ITEM_ID": "i1"},
        {"ITEM_ID": "i2"},
    ]
    path = _write(tmp_path, 'ITEM_ID\ni1\n\n""\n')
    assert _failure(path, schema) == "Row 4: the required column ITEM_ID is empty."


def test_a_record_of_delimiters_only_reads_as_a_blank_line(tmp_path: Path) -> None:
    """The one known difference from parse_csv on blank lines (which refused ",,")."""
    assert [r["USER_ID"] for r in _rows(_write(tmp_path, HEADER + ",,\nu1,i1,1\n"))] == ["u1"]
    path = _write(tmp_path, HEADER + '"",,\n')
    assert _failure(path) == "Row 2: the required column USER_ID is empty."


# The file and its header.


@pytest.mark.parametrize(
    ("content", "offset"),
    [
        pytest.param(b"USER_ID,ITEM_ID,TIMESTAMP\nu1,i\xff,1\n", 30, id="invalid"),
        pytest.param(b"\xef\xbb\xbfUSER_ID,ITEM_ID,TIMESTAMP\nu1,i\xff,1\n", 30, id="after-bom"),
        pytest.param(b"USER_ID,ITEM_ID,TIMESTAMP\nu1,i1,1\n\xe2\x82", 34, id="cut-at-end"),
        pytest.param(b"\xc0\xafSER_ID,ITEM_ID,TIMESTAMP\n", 0, id="overlong"),
        pytest.param(b"USER_ID,ITEM_ID,TIMESTAMP\nu1,\xed\xa0\x80,1\n", 29, id="surrogate"),
    ],
)
def test_not_utf8_names_the_byte_as_decoding_the_file_would(
    tmp_path: Path, content: bytes, offset: int
) -> None:
    with pytest.raises(UnicodeDecodeError) as decoding:
        content.decode("utf-8-sig")
    assert decoding.value.start == offset
    assert _failure(_write(tmp_path, content)) == f"The file is not UTF-8 (byte {offset})."


def test_a_bad_byte_far_into_a_file_of_many_blocks(tmp_path: Path) -> None:
    prefix = (HEADER + _good_rows(20_000)).encode()
    content = prefix + b"u,\x80,1\n" + _good_rows(5_000).encode()
    path = _write(tmp_path, content)
    expected = f"The file is not UTF-8 (byte {len(prefix) + 2})."
    assert _failure(path, block_size=1024) == expected
    assert _failure(path, block_size=1 << 16) == expected
    # A bad byte anywhere wins over a bad row before it, as when parse_csv decoded first;
    # and a character cut across two reads is still one character.
    content = b"\xef\xbb\xbf" + prefix + b"u,soon,x\n" + "\u20ac".encode() * 5_000 + b"\xff"
    path = _write(tmp_path, content)
    expected = f"The file is not UTF-8 (byte {len(content) - 4})."
    for block_size in (1024, 1025, 1026, 1 << 20):
        assert _failure(path, block_size=block_size) == expected


@pytest.mark.parametrize("content", ["", "\n", "\r\n", "\nUSER_ID,ITEM_ID,TIMESTAMP\n", "\ufeff"])
def test_an_empty_file_or_first_row(tmp_path: Path, content: str) -> None:
    assert _failure(_write(tmp_path, content)) == (
        "The file is empty: a CSV with a header row is required."
    )


def test_a_column_that_is_no_field_is_quoted_in_short(tmp_path: Path) -> None:
    path = _write(tmp_path, "USER_ID,ITEM_ID,TIMESTAMP,COLOR\nu1,i1,1,red\n")
    assert _failure(path) == "Row 1: column 'COLOR' is not a field of the schema."
    long_name = "X" * 5000
    reason = _failure(_write(tmp_path, f"USER_ID,ITEM_ID,{long_name}\n"), block_size=1024)
    assert reason == f"Row 1: column '{'X' * 100}...' is not a field of the schema."


def test_a_required_column_missing_from_the_header(tmp_path: Path) -> None:
    path = _write(tmp_path, "USER_ID,ITEM_ID\nu1,i1\n")
    assert _failure(path) == "Row 1: the required column TIMESTAMP is missing from the header."


# Bad rows.


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("u1,i1", "expected 3 values, found 2"),
        ("u1,i1,1,extra", "expected 3 values, found 4"),
        ("  ", "expected 3 values, found 1"),
        (",i1,1", "the required column USER_ID is empty"),
        ('u1,"",1', "the required column ITEM_ID is empty"),
        ("u1,i1,", "the required column TIMESTAMP is empty"),
        ("u1,i1,soon", "TIMESTAMP value 'soon' is not a valid long"),
        ("u1,i1,1.0", "TIMESTAMP value '1.0' is not a valid long"),
        ("u1,i1, ", "TIMESTAMP value ' ' is not a valid long"),
        ("u1,i1,0x10", "TIMESTAMP value '0x10' is not a valid long"),
        # Python's int() takes these; the strict parse does not.
        ("u1,i1,1_000", "TIMESTAMP value '1_000' is not a valid long"),
        ("u1,i1,\u0663", "TIMESTAMP value '\u0663' is not a valid long"),
        (f"u1,i1,{2**63}", f"TIMESTAMP value '{2**63}' is not a valid long"),
        (f"u1,i1,{-(2**63) - 1}", f"TIMESTAMP value '{-(2**63) - 1}' is not a valid long"),
        (f"u1,i1,{'9' * 5000}", f"TIMESTAMP value '{'9' * 100}...' is not a valid long"),
        ("x" * 257 + ",i1,1", "USER_ID is longer than 256 characters"),
        ("u1," + "\xe9" * 257 + ",1", "ITEM_ID is longer than 256 characters"),
    ],
)
def test_a_bad_row_is_named(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path, HEADER + _good_rows(3) + line + "\n" + _good_rows(3))
    assert _failure(path) == f"Row 5: {reason}."


TYPED = AvroSchema(
    (
        SchemaField("USER_ID", "string", False),
        SchemaField("AGE", "int", True),
        SchemaField("SCORE", "float", True),
        SchemaField("PRICE", "double", True),
        SchemaField("ADULT", "boolean", True),
    )
)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ("2147483648,,,", "AGE value '2147483648' is not a valid int"),
        ("-2147483649,,,", "AGE value '-2147483649' is not a valid int"),
        ("twenty,,,", "AGE value 'twenty' is not a valid int"),
        (",nan,,", "SCORE value 'nan' is not a valid float"),
        (",,inf,", "PRICE value 'inf' is not a valid double"),
        (",,-Infinity,", "PRICE value '-Infinity' is not a valid double"),
        (",1e999,,", "SCORE value '1e999' is not a valid float"),
        (",,1.5.2,", "PRICE value '1.5.2' is not a valid double"),
        (",,1e,", "PRICE value '1e' is not a valid double"),
        (",,,yes", "ADULT value 'yes' is not a valid boolean"),
        (",,, true", "ADULT value ' true' is not a valid boolean"),
        (",,,1", "ADULT value '1' is not a valid boolean"),
    ],
)
def test_a_bad_typed_value_is_named(tmp_path: Path, values: str, reason: str) -> None:
    text = "USER_ID,AGE,SCORE,PRICE,ADULT\nu1,1,1.5,2.5,true\n" + f"u2,{values}\n"
    assert _failure(_write(tmp_path, text), TYPED) == f"Row 3: {reason}."


def test_within_a_row_the_first_bad_column_in_header_order(tmp_path: Path) -> None:
    text = "ADULT,AGE,USER_ID\ntrue,1,u1\nmaybe,x,\n"
    assert _failure(_write(tmp_path, text), TYPED) == (
        "Row 3: ADULT value 'maybe' is not a valid boolean."
    )
    text = "AGE,USER_ID,ADULT\ntrue,,maybe\n"
    assert _failure(_write(tmp_path, text), TYPED) == "Row 2: AGE value 'true' is not a valid int."
    text = "USER_ID,AGE,ADULT\n,x,maybe\n"
    assert _failure(_write(tmp_path, text), TYPED) == (
        "Row 2: the required column USER_ID is empty."
    )


def test_the_first_bad_row_wins_whatever_the_check(tmp_path: Path) -> None:
    rows = HEADER + _good_rows(3)  # rows 2-4
    cases = {
        "u,i,x\n" + _good_rows(3) + ",i,1\n": "Row 5: TIMESTAMP value 'x' is not a valid long.",
        ",i,1\n" + _good_rows(3) + "u,i,x\n": "Row 5: the required column USER_ID is empty.",
        "u,i\n" + _good_rows(3) + "u,i,x\n": "Row 5: expected 3 values, found 2.",
        "u,i,x\n" + "u,i\n": "Row 5: TIMESTAMP value 'x' is not a valid long.",
        "u,i,1\n" + "x" * 300 + ",i,1\n" + "u,i\n": "Row 6: USER_ID is longer than 256 characters.",
    }
    for tail, reason in cases.items():
        assert _failure(_write(tmp_path, rows + tail)) == reason
        assert _failure(_write(tmp_path, rows + tail), block_size=1024) == reason


def test_the_first_bad_row_wins_across_blocks(tmp_path: Path) -> None:
    """Bad rows in later blocks, of every kind, never hide an earlier one."""
    body = _good_rows(1000)  # rows 2-1001, over many 1 kB blocks
    late = "u,i\n" + ",i,1\n" + "u,i,late\n"
    path = _write(tmp_path, HEADER + body + "u,i,early\n" + body + late)
    reason = _failure(path, block_size=1024)
    assert reason == "Row 1002: TIMESTAMP value 'early' is not a valid long."
    path = _write(tmp_path, HEADER + body + "u,i\n" + body + "u,i,late\n" + ",i,1\n")
    assert _failure(path, block_size=1024) == "Row 1002: expected 3 values, found 2."
    path = _write(tmp_path, HEADER + body + ",i,1\n" + body + "u,i\n")
    assert _failure(path, block_size=1024) == "Row 1002: the required column USER_ID is empty."
    # Two bad rows in one block, the later of a kind checked first.
    path = _write(tmp_path, HEADER + body + "u,i,early\n,i,1\n" + body)
    assert _failure(path, block_size=1 << 20) == (
        "Row 1002: TIMESTAMP value 'early' is not a valid long."
    )


def test_the_bad_row_is_numbered_after_quoted_newlines_and_blank_lines(tmp_path: Path) -> None:
    records = "".join(f'u{n},"item\n{n}",{n}\n' + ("\n" if n % 3 == 0 else "") for n in range(500))
    path = _write(tmp_path, HEADER + records + "u,i\n")
    assert _failure(path, block_size=1024) == f"Row {2 + 500 + 167}: expected 3 values, found 2."


def test_a_field_over_csvs_limit(tmp_path: Path) -> None:
    schema = AvroSchema(INTERACTIONS.fields + (SchemaField("NOTE", "string", True),))
    text = "USER_ID,ITEM_ID,TIMESTAMP,NOTE\n" + "u1,i1,x," + "n" * 131073 + "\n"
    assert _failure(_write(tmp_path, text), schema) == (
        "Row 2: field larger than field limit (131072)."
    )
    text = "USER_ID,ITEM_ID,TIMESTAMP,NOTE\n" + "u1,i1,1," + "n" * 131072 + "\n"
    assert _rows(_write(tmp_path, text), schema)[0]["NOTE"] == "n" * 131072


def test_an_unclosed_quote_fails_naming_its_row(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _good_rows(50) + 'u,"i,1\n' + _good_rows(3000))
    assert _failure(path, block_size=1024) == (
        "Row 52: the record does not end within 1024 bytes (an unclosed quote?)."
    )
    # In the last block it runs to the end of the file, as in the csv module.
    path = _write(tmp_path, HEADER + _good_rows(50) + 'u,"i,1\n')
    assert _failure(path, block_size=1024) == "Row 52: expected 3 values, found 2."


# Streaming.


def test_a_consumer_that_stops_early_releases_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _good_rows(50_000))
    started = time.perf_counter()
    for _ in range(20):
        batches = read_csv(path, INTERACTIONS, block_size=1024)
        assert next(batches).num_rows > 0
        batches.close()
    assert time.perf_counter() - started < 5  # no wait on pyarrow's reading thread


def test_a_slow_consumer_gets_every_row(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _good_rows(3_000))
    total = 0
    for batch in read_csv(path, INTERACTIONS, block_size=4096):
        time.sleep(0.002)
        total += batch.num_rows
    assert total == 3_000


MEASURE = """
import json, resource, sys, tracemalloc
from pathlib import Path
import pyarrow as pa
from services.engine.avro import AvroSchema, SchemaField
from services.engine.csv_stream import read_csv

schema = AvroSchema(tuple(SchemaField(n, t, False) for n, t in
    [("USER_ID", "string"), ("ITEM_ID", "string"), ("TIMESTAMP", "long")]))
path, small = Path(sys.argv[1]), Path(sys.argv[2])
list(read_csv(small, schema))  # imports and pools warmed up
pool = pa.default_memory_pool().max_memory()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
tracemalloc.start()
rows = sum(batch.num_rows for batch in read_csv(path, schema, block_size=1 << 20))
print(json.dumps({
    "rows": rows,
    "arrow_peak": pa.default_memory_pool().max_memory() - pool,
    "python_peak": tracemalloc.get_traced_memory()[1],
    "rss_growth": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss,
}))
"""


def test_a_50mb_file_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """Measured in a fresh process: the peaks of pyarrow's pool and of Python's allocations
    stay at a few 1 MB blocks, and the process's peak resident size grows by less than the
    file (it would hold the file whole, and more, without streaming)."""
    path = tmp_path / "big.csv"
    rows = 0
    with path.open("wb") as out:
        out.write(HEADER.encode())
        while out.tell() < 50 << 20:
            out.write(_good_rows(100_000, rows).encode())
            rows += 100_000
    small = _write(tmp_path, HEADER + _good_rows(10), "small.csv")
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), str(small)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    measured = json.loads(done.stdout)
    size = path.stat().st_size
    assert measured["rows"] == rows
    assert measured["arrow_peak"] < 16 << 20, measured
    assert measured["python_peak"] < 16 << 20, measured
    assert measured["rss_growth"] < size, measured


def test_a_million_rows_take_seconds(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + _good_rows(1_000_000))
    started = time.perf_counter()
    rows = 0
    for batch in read_csv(path, INTERACTIONS):
        rows += batch.num_rows
        assert batch.column("TIMESTAMP").type == pa.int64()
    elapsed = time.perf_counter() - started
    assert rows == 1_000_000
    assert elapsed < 10, f"{rows / elapsed:,.0f} rows/s"
