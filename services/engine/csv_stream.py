"""Dataset CSVs read as a stream of typed Arrow record batches, every row checked on the way.

pyarrow parses the file block by block and the checks run with pyarrow.compute on whole
columns, so a 2 GB file is never held whole and no Python object is built per row. Failures
are the StepFailed messages the engine gave when it read files row by row with Python's csv
module (`parse_csv`, its former reader), with rows numbered as there: the header is row 1 and
every CSV record counts, blank ones included.

What differs from that former reader, all at the edges:
- A record made only of delimiters (",,") reads in pyarrow exactly as a blank line, so both are
  skipped (and counted); parse_csv refused ",," when a required column was in the header.
- A lone "\\r" ends a record (old Mac files); parse_csv's csv module refused it ("new-line
  character seen in unquoted field"). The header is still read by the csv module, as there.
- Numbers are parsed strictly: an optional sign and ASCII digits (a decimal point and exponent
  for floats), surrounded by ASCII whitespace only. Python's int() and float() also took
  "1_000", non-ASCII digits and Unicode spaces.
- A field over csv's limit (FIELD_LIMIT) is reported at its record number (parse_csv gave csv's
  line count, which differs after quoted newlines), and a ragged record is reported as ragged
  even when it also holds a field over that limit.
- A record that does not end within one block (e.g. after an unclosed quote) fails naming the
  record it starts; parse_csv's csv module read an unclosed quote to the end of the file.
  Likewise a header row longer than a block, or one pyarrow splits unlike csv, fails on row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from services.engine.avro import AvroSchema, SchemaField
from services.engine.lifecycle import StepFailed

# Defined here, not in importer.py, which imports this module.
MAX_ID_LENGTH = 256
# A failureReason quotes at most this much of one value of the file.
EXCERPT = 100
# Avro's int is 32 bits and long 64: larger values would overflow the database's columns.
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Python's csv module refuses longer fields (csv.field_size_limit()); parse_csv did too.
FIELD_LIMIT = 131072

ID_FIELDS = ("USER_ID", "ITEM_ID")
ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
}
BOM = codecs.BOM_UTF8
# The whitespace int() and float() strip, ASCII only (they also strip Unicode spaces).
WHITESPACE = " \t\n\r\f\v"
INTEGER = r"[+-]?[0-9]+"
# What float() reads, less "_" between digits, "inf" and "nan" (refused as not finite anyway).
DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# Blocks pyarrow may read ahead of the batch being consumed: its own background reader would
# read 32, which with 16 MB blocks is half a gigabyte.
READ_AHEAD = 3
# How long pyarrow's read waits while the consumer waits for a batch, before reading anyway.
STALL_SECONDS = 0.5
# The UTF-8 check decodes this much at a time, so the text it throws away stays small.
DECODE_SLICE = 1 << 20


def excerpt(text: str) -> str:
    """`text` quoted, shortened to EXCERPT characters (a reason never carries a whole file)."""
    return repr(text if len(text) <= EXCERPT else text[:EXCERPT] + "...")


def read_csv(
    path: Path | BinaryIO, schema: AvroSchema, *, block_size: int = 16 << 20
) -> Iterator[pa.RecordBatch]:
    """Every row of the CSV at `path` (or in an open, seekable binary file, read from its
    start and left open) checked against `schema`, as record batches of the schema's fields
    in schema order (absent nullable fields as nulls); StepFailed names the first bad row.

    Batches come as the file is read, so a failure can follow batches already yielded: a caller
    loading them must be ready to undo. Empty batches are not yielded.
    """
    if not isinstance(path, Path):  # e.g. a file the import roots check opened
        path.seek(0)
        yield from _read_open(path, schema, block_size)
        return
    with path.open("rb") as raw:
        yield from _read_open(raw, schema, block_size)


def _read_open(raw: BinaryIO, schema: AvroSchema, block_size: int) -> Iterator[pa.RecordBatch]:
    source = _Utf8Source(raw, base=-len(BOM) if raw.read(len(BOM)) == BOM else 0)
    raw.seek(0)
    try:
        yield from _read(source, schema, block_size)
    except StepFailed:
        # A bad byte anywhere in the file wins over any other failure (the whole file is
        # checked for UTF-8 before anything else is reported).
        source.drain()
        if source.bad is not None:
            raise _not_utf8(source.bad) from None
        raise


def _not_utf8(offset: int) -> StepFailed:
    return StepFailed(f"The file is not UTF-8 (byte {offset}).")


def _read(source: _Utf8Source, schema: AvroSchema, block_size: int) -> Iterator[pa.RecordBatch]:
    header, alone = _header(source, schema, block_size)
    columns = _columns(header, schema)
    if alone:  # pyarrow cannot read a file of one record with no line end: nothing to read
        return
    width = len(columns)
    ragged = _Ragged()
    start = 1  # the record number of the next batch's first row
    try:
        try:
            with source.waiting():
                reader = _open(source, width=width, block_size=block_size, ragged=ragged)
        except pa.ArrowException as exc:
            raise _unreadable(source, exc, 1, block_size) from None
        while True:
            try:
                with source.waiting():
                    batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowException as exc:
                if ragged.first is not None:
                    raise ragged.failure(width) from None
                raise _unreadable(source, exc, start, block_size) from None
            finally:
                source.consumed()
            if source.bad is not None:
                raise _not_utf8(source.bad)
            if start == 1:
                if not batch.num_rows:
                    continue
                first = [value or "" for value in batch.slice(0, 1).to_pylist()[0].values()]
                if first != header:  # pyarrow and csv split the header differently
                    raise StepFailed("Row 1: the header row cannot be read as CSV.")
                batch, start = batch.slice(1), 2
            # pyarrow skipped the ragged record: only the rows before it are numbered as the
            # file's, and they are checked first, as parse_csv met them first.
            end = start + batch.num_rows  # the number of the record after the batch's rows
            if ragged.first is not None:
                end = min(end, max(ragged.first[0], start))
            problem = _first_problem(batch.slice(0, end - start), columns)
            if problem is not None:
                row, message = problem
                raise StepFailed(f"Row {start + row}: {message}.")
            if ragged.first is not None and ragged.first[0] <= start + batch.num_rows:
                raise ragged.failure(width)
            typed = _typed(batch, columns, schema)
            if typed.num_rows:
                yield typed
            start += batch.num_rows
    finally:
        # Before pyarrow's reader goes: its background thread may wait for a turn to read.
        source.stop()
    if ragged.first is not None:
        raise ragged.failure(width)


def _open(
    source: _Utf8Source, *, width: int, block_size: int, ragged: _Ragged
) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(
            # Serial, so that pyarrow knows the number of every ragged record.
            use_threads=False,
            block_size=block_size,
            # The header comes as the first row: its names are checked by csv, in `_header`.
            autogenerate_column_names=True,
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True,
            # A blank line is then a row of nulls, counted as parse_csv counted it.
            ignore_empty_lines=False,
            invalid_row_handler=ragged,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(width)},
            # Unquoted empty values are null and quoted ones "": a blank line (all null) then
            # differs from a record of quoted empty values ("" or "",""), which is a row.
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )


def _unreadable(
    source: _Utf8Source, exc: pa.ArrowException, row: int, block_size: int
) -> StepFailed:
    if source.bad is not None:
        return _not_utf8(source.bad)
    if "straddl" in str(exc):  # pyarrow: "straddling object straddles two block boundaries"
        return StepFailed(
            f"Row {row}: the record does not end within {block_size} bytes (an unclosed quote?)."
        )
    # pyarrow's messages may quote the file: at most EXCERPT characters of them.
    return StepFailed(f"Row {row}: the file cannot be read as CSV ({str(exc)[:EXCERPT]}).")


class _Ragged:
    """pyarrow's invalid_row_handler: remembers the first record of the wrong width."""

    def __init__(self) -> None:
        self.first: tuple[int, int] | None = None

    def __call__(self, row: pacsv.InvalidRow) -> str:
        if self.first is None:
            # The number is known when parsing is serial (use_threads=False).
            self.first = (row.number if row.number is not None else 1, row.actual_columns)
        return "skip"

    def failure(self, width: int) -> StepFailed:
        assert self.first is not None
        number, found = self.first
        return StepFailed(f"Row {number}: expected {width} values, found {found}.")


def _header(source: _Utf8Source, schema: AvroSchema, block_size: int) -> tuple[list[str], bool]:
    """The header row, read by the csv module from the first block as parse_csv read it, and
    whether it is all the file holds."""
    head, whole = source.peek(block_size)
    if source.bad is not None:
        raise _not_utf8(source.bad)
    # A character cut by the end of the block is left out.
    text, _ = codecs.utf_8_decode(head, "strict", False)
    if source.bom:
        text = text[1:]
    lines = _Lines(text)
    try:
        header = next(csv.reader(lines), None)
    except csv.Error as exc:
        raise StepFailed(f"Row 1: {exc}.") from None
    if not header:
        raise StepFailed("The file is empty: a CSV with a header row is required.")
    if not whole and not lines.ended:
        # The last name is cut: said not to be a field only if no field starts with it, and
        # only when quoted as in full (over EXCERPT characters).
        *names, cut = header
        _columns(names, schema, complete=False)
        start = cut.strip().upper()
        if len(cut) > EXCERPT and not any(f.name.upper().startswith(start) for f in schema.fields):
            raise StepFailed(f"Row 1: column {excerpt(cut)} is not a field of the schema.")
        raise StepFailed(f"Row 1: the header row is longer than {block_size} bytes.")
    return header, whole and next(lines, None) is None


class _Lines:
    """The text's lines as parse_csv's io.StringIO gave them to csv (cut at "\\n" only),
    noting whether the lines csv took so far end a record that ended in the text."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text))
        self.ended = True

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self.ended = False  # csv wanted more: a quoted field runs on
            raise
        # A line cut by the end of the text (no "\n") ends a record only for csv.
        self.ended = line.endswith("\n")
        return line


def _columns(header: list[str], schema: AvroSchema, *, complete: bool = True) -> list[SchemaField]:
    """The schema field of each header name; `complete` if no name may follow."""
    by_upper = {f.name.upper(): f for f in schema.fields}
    columns: list[SchemaField] = []
    for name in header:
        field = by_upper.get(name.strip().upper())
        if field is None:
            raise StepFailed(f"Row 1: column {excerpt(name)} is not a field of the schema.")
        columns.append(field)
    present = {f.name for f in columns}
    for field in schema.fields if complete else ():
        if field.name not in present and not field.nullable:
            raise StepFailed(f"Row 1: the required column {field.name} is missing from the header.")
    return columns


def _first_problem(batch: pa.RecordBatch, columns: list[SchemaField]) -> tuple[int, str] | None:
    """The index of the batch's first bad row and what is wrong with it, or None."""
    if not batch.num_rows:
        return None
    blank = _blank(batch)
    first = batch.num_rows
    for j, field in enumerate(columns):
        bad = _bad(_nulls_for_empty(batch.column(j)), field)
        if bad is None:
            continue
        if blank is not None:
            bad = pc.and_not(bad, blank)
        index = pc.index(bad, True).as_py()
        if 0 <= index < first:
            first = index
    if first == batch.num_rows:
        return None
    # One row only: its values, checked again for the first bad column in header order, after
    # the csv module's own check of the whole row, as parse_csv met them.
    values = [column[first].as_py() or "" for column in batch.columns]
    if any(len(value) > FIELD_LIMIT for value in values):
        return first, f"field larger than field limit ({FIELD_LIMIT})"
    for field, value in zip(columns, values, strict=True):
        message = _problem(field, value)
        if message is not None:
            return first, message
    raise AssertionError(f"row {first} was found bad but no value is")


def _blank(batch: pa.RecordBatch) -> pa.BooleanArray | None:
    """Which rows are blank lines (every value an unquoted empty one), or None if none is."""
    if any(column.null_count == 0 for column in batch.columns):
        return None
    blank = pc.is_null(batch.column(0))
    for column in batch.columns[1:]:
        blank = pc.and_(blank, pc.is_null(column))
    return blank


def _nulls_for_empty(column: pa.StringArray) -> pa.StringArray:
    """Quoted empty values ("") as nulls, like the unquoted ones: parse_csv saw both as ""."""
    empty = pc.equal(pc.binary_length(column), 0)
    if not pc.any(empty).as_py():
        return column
    return pc.if_else(empty, pa.scalar(None, pa.string()), column)


def _bad(column: pa.StringArray, field: SchemaField) -> pa.BooleanArray | None:
    """Which values of the column `_problem` refuses (nulls being empty values), or None."""
    masks = []
    lengths = pc.binary_length(column)
    # Bytes bound characters from above: count characters only if the bytes are over.
    if pc.any(pc.greater(lengths, FIELD_LIMIT)).as_py():
        masks.append(pc.greater(pc.utf8_length(column), FIELD_LIMIT))
    if column.null_count and not field.nullable:
        masks.append(pc.is_null(column))
    if field.type in ("int", "long"):
        masks.append(pc.invert(_integers(column, field.type)))
    elif field.type in ("float", "double"):
        masks.append(pc.invert(_decimals(column)))
    elif field.type == "boolean":
        lowered = pc.ascii_lower(column)  # = str.lower() as far as "true" and "false" go
        masks.append(pc.invert(pc.or_(pc.equal(lowered, "true"), pc.equal(lowered, "false"))))
    elif field.name in ID_FIELDS and pc.any(pc.greater(lengths, MAX_ID_LENGTH)).as_py():
        masks.append(pc.greater(pc.utf8_length(column), MAX_ID_LENGTH))
    if not masks:
        return None
    bad = masks[0]
    for mask in masks[1:]:
        bad = pc.or_kleene(bad, mask)
    # A null (empty) value is bad only when the column is required, masked above.
    return pc.fill_null(bad, False)


def _integers(column: pa.StringArray, kind: str) -> pa.BooleanArray:
    """Which values are integers in the kind's range (null for nulls)."""
    low, high = INT_RANGES[kind]
    trimmed = pc.ascii_trim(column, WHITESPACE)
    valid = pc.match_substring_regex(trimmed, f"^{INTEGER}$")
    # Range by digits, as the values may overflow any cast: a sign and fewer digits than the
    # bounds' always fit; only longer ones are compared, digit string against digit string.
    digits = len(str(high))
    if (pc.max(pc.binary_length(trimmed)).as_py() or 0) >= digits:
        magnitude = pc.ascii_ltrim(pc.ascii_ltrim(trimmed, "+-"), "0")
        size = pc.binary_length(magnitude)
        bound = pc.if_else(pc.starts_with(trimmed, "-"), str(-low), str(high))
        fits = pc.or_(
            pc.less(size, digits),
            pc.and_(pc.equal(size, digits), pc.less_equal(magnitude, bound)),
        )
        valid = pc.and_kleene(valid, fits)
    return valid


def _decimals(column: pa.StringArray) -> pa.BooleanArray:
    """Which values are finite decimal numbers (null for nulls): nan, inf and 1e999 would
    poison training."""
    trimmed = pc.ascii_trim(column, WHITESPACE)
    valid = pc.match_substring_regex(trimmed, f"^{DECIMAL}$")
    if not pc.all(pc.fill_null(valid, True)).as_py():
        # Only the decimals are cast (the others would fail the cast), as nulls: not finite.
        trimmed = pc.if_else(valid, trimmed, pa.scalar(None, pa.string()))
    return pc.and_kleene(valid, pc.is_finite(pc.cast(trimmed, pa.float64())))


def _problem(field: SchemaField, raw: str) -> str | None:
    """What parse_csv said of one value (within csv's FIELD_LIMIT), or None: the scalar twin of
    `_bad`."""
    if raw == "":
        return None if field.nullable else f"the required column {field.name} is empty"
    invalid = f"{field.name} value {excerpt(raw)} is not a valid {field.type}"
    stripped = raw.strip(WHITESPACE)
    if field.type in ("int", "long"):
        low, high = INT_RANGES[field.type]
        # int() refuses over 4,300 digits (ValueError): no such number is in range anyway.
        digits = stripped.lstrip("+-").lstrip("0")
        if not re.fullmatch(INTEGER, stripped) or len(digits) > len(str(high)):
            return invalid
        if not low <= int(stripped) <= high:
            return invalid
    elif field.type in ("float", "double"):
        if not re.fullmatch(DECIMAL, stripped) or not math.isfinite(float(stripped)):
            return invalid
    elif field.type == "boolean":
        if raw.lower() not in ("true", "false"):
            return invalid
    elif field.name in ID_FIELDS and len(raw) > MAX_ID_LENGTH:
        return f"{field.name} is longer than {MAX_ID_LENGTH} characters"
    return None


def _typed(batch: pa.RecordBatch, columns: list[SchemaField], schema: AvroSchema) -> pa.RecordBatch:
    """The checked batch as the schema's typed columns, blank lines dropped."""
    blank = _blank(batch)
    # A column named twice in the header: the last one wins, as in parse_csv's dicts.
    position = {field.name: j for j, field in enumerate(columns)}
    arrays = []
    for field in schema.fields:
        kind = ARROW_TYPES[field.type]
        j = position.get(field.name)
        if j is None:
            arrays.append(pa.nulls(batch.num_rows, kind))
            continue
        column = _nulls_for_empty(batch.column(j))
        if field.type in ("int", "long"):
            # Checked: the cast cannot fail. pyarrow's refuses "+" (and spaces).
            unsigned = pc.ascii_ltrim(pc.ascii_trim(column, WHITESPACE), "+")
            arrays.append(pc.cast(unsigned, kind))
        elif field.type in ("float", "double"):
            arrays.append(pc.cast(pc.ascii_trim(column, WHITESPACE), kind))
        elif field.type == "boolean":
            arrays.append(pc.equal(pc.ascii_lower(column), "true"))
        else:
            arrays.append(column)
    arrow_schema = pa.schema(
        [pa.field(f.name, ARROW_TYPES[f.type], nullable=f.nullable) for f in schema.fields]
    )
    typed = pa.RecordBatch.from_arrays(arrays, schema=arrow_schema)
    return typed if blank is None else typed.filter(pc.invert(blank))


class _Utf8Source:
    """The file as pyarrow reads it, checked as UTF-8 on the way through, one slice at a time.

    pyarrow reads from a background thread, up to 32 blocks ahead (half a gigabyte of 16 MB
    blocks): its reads wait here while READ_AHEAD blocks are ahead of the batches consumed.
    Should pyarrow ever need more to make the batch the consumer waits for, the wait gives up
    after STALL_SECONDS of the consumer waiting with no progress, so it slows, never hangs.
    """

    def __init__(self, raw: io.BufferedReader, *, base: int) -> None:
        self._raw = raw
        self.bom = base != 0
        self._head = b""  # bytes read by `peek`, served to pyarrow first
        self._pending = b""  # the start of a character cut by the end of the last read
        self._offset = base  # offset of the first pending byte, counted after any BOM
        self.bad: int | None = None  # offset of the first byte that is not UTF-8
        self._lock = threading.Lock()  # one reader of the file at a time
        self._turn = threading.Condition()
        self._reads = 0
        self._batches = 0
        self._consumer_waits = False
        self._stopped = False
        self.closed = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    def peek(self, size: int) -> tuple[bytes, bool]:
        """The first `size` bytes (checked), which pyarrow will read again, and whether they
        are the whole file."""
        with self._lock:
            head = self._raw.read(size)
            whole = len(head) < size or not self._raw.peek(1)
            self._check(head, final=whole)
            self._head = head
        return head, whole

    def read(self, size: int = -1) -> bytes:
        self._wait_for_turn()
        with self._lock:
            if self._stopped:
                return b""
            head = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(head) :]
            if size < 0:
                more = self._raw.read()
                self._check(more, final=True)
            else:
                more = self._raw.read(size - len(head)) if size > len(head) else b""
                self._check(more, final=len(more) < size - len(head))
            return head + more if head else more

    def drain(self) -> None:
        """Check the rest of the file, which pyarrow will not read."""
        self.stop()
        with self._lock:
            while self.bad is None:
                data = self._raw.read(DECODE_SLICE)
                self._check(data, final=len(data) < DECODE_SLICE)
                if len(data) < DECODE_SLICE:
                    break

    def stop(self) -> None:
        """pyarrow's reads end here: they return nothing, at once."""
        with self._turn:
            self._stopped = True
            self._turn.notify_all()
        with self._lock:  # a read under way ends before the file closes
            pass

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around the consumer's wait for pyarrow's next batch."""
        self._set_waiting(True)
        try:
            yield
        finally:
            self._set_waiting(False)

    def consumed(self) -> None:
        with self._turn:
            self._batches += 1
            self._turn.notify_all()

    def _wait_for_turn(self) -> None:
        with self._turn:
            while not self._stopped and self._reads >= self._batches + READ_AHEAD:
                if not self._turn.wait(STALL_SECONDS) and self._consumer_waits:
                    break
            self._reads += 1

    def _set_waiting(self, waits: bool) -> None:
        with self._turn:
            self._consumer_waits = waits
            self._turn.notify_all()

    def _check(self, data: bytes, *, final: bool) -> None:
        view = memoryview(data)
        for start in range(0, len(view), DECODE_SLICE):
            self._decode(view[start : start + DECODE_SLICE], final=False)
        if final:
            self._decode(b"", final=True)

    def _decode(self, data: bytes | memoryview, *, final: bool) -> None:
        if self.bad is not None:
            return
        piece = self._pending + data if self._pending else data
        try:
            _, used = codecs.utf_8_decode(piece, "strict", final)
        except UnicodeDecodeError as exc:
            self.bad = self._offset + exc.start
            return
        self._offset += used
        self._pending = bytes(piece[used:])
