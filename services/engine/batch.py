"""Batch inference and batch segment jobs: JSON lines in, JSON lines out, in the worker pool.

The API process (`run_job`, the work of CREATE IN_PROGRESS) resolves the job's locations,
reads the input into a local file, lists the dataset group's stored data (as training
does) and sends a `BatchSource` to the training worker pool; the worker (`run_batch`) loads
the solution version's model, builds the group's histories and metadata with the serving code
(`runtime.histories.build_group`), binds them as a `Deployment` and answers every line with
the runtime's own functions (`routes.recommendations`, `routes.ranked`, `filtering.allowed_mask`),
so a batch line gets what GetRecommendations / GetPersonalizedRanking would answer for it.

Output is Personalize's: one line per input line, `{"input": ..., "output": ..., "error":
null}`, or for a line that cannot be answered `{"input": <the line's JSON, or its raw text>,
"output": null, "error": "<why>"}`; blank lines are skipped. The file is
`<input file name>.out` in the output folder, written whole before it appears: a local
folder gets a temporary file renamed into place, S3 one PUT of the finished file.

Locations: `s3://` (read and written with the engine's credentials at S3_ENDPOINT_URL) or
`file:///abs/path` inside IMPORT_ROOTS (the import's confinement, `import_roots.py`): checked
at Create and again when the job reads (the import's reader, `importer.local_sources`, on the
file opened) and writes (the folder's real path). The worker reads a local copy of the input.

Progress: the worker replaces a small JSON file (`{"done", "total", "unit"}`) at most every
PROGRESS_SECONDS; the API process logs it at INFO as the job runs, then the job's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import orjson

from services.engine import import_roots
from services.engine.dataset_files import (
    InteractionParts,
    RecordParts,
    interaction_parts,
    record_parts,
)
from services.engine.importer import Source, local_sources
from services.engine.lifecycle import StepFailed
from services.engine.recipes import load_model
from services.engine.recipes.scoring import top_k
from services.engine.runtime.deployment import Deployment
from services.engine.runtime.filter_parser import FilterSyntaxError, parse_filter
from services.engine.runtime.filtering import allowed_mask
from services.engine.runtime.histories import build_group
from services.engine.runtime.routes import ranked, recommendations
from services.engine.s3 import s3_client, split_s3_url
from services.engine.wire.errors import PersonalizeError

if TYPE_CHECKING:
    from services.engine.context import EngineContext

logger = logging.getLogger(__name__)

INFERENCE = "INFERENCE"
SEGMENT = "SEGMENT"
MAX_LINE_ITEMS = 500  # itemList, as GetPersonalizedRanking's inputList
MAX_ID = 256
SEGMENT_CELLS = 50_000_000  # users × queries scored at a time by a segment job
LINES_PER_BLOCK = 1024  # batch inference lines handed to the threads at a time
PROGRESS_SECONDS = 2.0  # how often the worker records, and the API process logs, progress


def output_name(input_path: str) -> str:
    """`<input file name>.out`, as Personalize names it."""
    return PurePosixPath(split_s3_url(input_path)[1] or input_path).name + ".out"


def check_locations(*, input_path: str, output_path: str, roots: list[str]) -> None:
    """What CreateBatch*Job refuses before storing anything (InvalidInput's message as
    ValueError)."""
    for member, location in (("jobInput", input_path), ("jobOutput", output_path)):
        if location.startswith("file://"):
            try:
                import_roots.check(location, roots)
            except import_roots.OutsideRoots:
                raise ValueError(
                    f"{member} path {location} is outside the engine's import roots "
                    "(IMPORT_ROOTS); use s3:// or a file:// path inside them."
                ) from None
        elif not location.startswith("s3://"):
            raise ValueError(
                f"{member} path {location} is not supported by this engine: use s3://bucket/key "
                "or file:///path."
            )
        elif not split_s3_url(location)[0]:
            raise ValueError(f"{member} path {location} names no bucket.")
    if input_path.endswith("/") or (
        input_path.startswith("s3://") and not split_s3_url(input_path)[1]
    ):
        raise ValueError(
            f"jobInput path {input_path} is a folder: name the JSON lines file to read."
        )


@dataclass(frozen=True)
class BatchSource:
    """What the worker needs for one job; small and picklable."""

    kind: str  # INFERENCE or SEGMENT
    group_arn: str
    version_arn: str
    model_dir: str
    interactions: InteractionParts
    items: RecordParts
    users: RecordParts
    num_results: int
    filter_expression: str | None
    filter_window: int
    input_file: str  # a local copy of the input, made by the API process
    output_file: str  # where the worker writes; the caller publishes it
    progress_file: str  # where the worker records its progress (`Progress`)


@dataclass(frozen=True)
class BatchOutcome:
    lines: int
    errors: int
    seconds: float


# --- in the worker process ----------------------------------------------------------------


class Progress:
    """The worker's side of progress: `{"done": n, "total": m, "unit": ...}` in a file it
    replaces whole (os.replace), at most every PROGRESS_SECONDS unless `final`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.last = 0.0

    def __call__(self, done: int, total: int, unit: str, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        staging = f"{self.path}.tmp"
        with open(staging, "wb") as out:
            out.write(orjson.dumps({"done": done, "total": total, "unit": unit}))
        os.replace(staging, self.path)


def read_progress(path: Path) -> tuple[int, int, str] | None:
    """The API process's side: (done, total, unit), or None before the first record."""
    try:
        value = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return int(value["done"]), int(value["total"]), str(value["unit"])


def _lines(handle: BinaryIO, progress: Progress) -> Iterator[bytes]:
    """The non-blank lines, stripped, recording progress as they are read."""
    total = sum(1 for raw in handle if raw.strip())
    handle.seek(0)
    done = 0
    for raw in handle:
        line = raw.strip()
        if line:
            yield line
            done += 1
            progress(done, total, "lines")


def _error(given: Any, message: str) -> dict[str, Any]:
    return {"input": given, "output": None, "error": message}


def _parse(line: bytes) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the line's object, None) or (None, its error line)."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, _error(line.decode("utf-8", "replace"), "The line is not valid JSON.")
    if not isinstance(value, dict):
        return None, _error(value, "The line must be a JSON object.")
    return value, None


def _id(value: dict[str, Any], name: str) -> str:
    raw = value.get(name)
    if raw is None:
        raise ValueError(f"{name} is required.")
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_ID:
        raise ValueError(f"{name} must be a string of 1 to {MAX_ID} characters.")
    return raw


def _filter_values(value: dict[str, Any]) -> dict[str, str] | None:
    raw = value.get("filterValues")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValueError("filterValues must be an object of strings.")
    return raw


def _item_list(value: dict[str, Any]) -> list[str]:
    raw = value.get("itemList")
    if raw is None:
        raise ValueError("itemList is required.")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LINE_ITEMS:
        raise ValueError(f"itemList must be a list of 1 to {MAX_LINE_ITEMS} item ids.")
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not 1 <= len(item) <= MAX_ID:
            raise ValueError(f"itemList[{i}] must be an item id of 1 to {MAX_ID} characters.")
    return raw


def _infer(dep: Deployment, value: dict[str, Any], source: BatchSource, parsed: Any) -> Any:
    """One line's `output`, or ValueError / InvalidInput saying why it has none."""

    recipe_type = dep.recipe_type
    user_id = item_id = None
    input_list: list[str] = []
    if recipe_type == "RELATED_ITEMS":
        item_id = _id(value, "itemId")
        user_id = _id(value, "userId") if value.get("userId") is not None else None
    else:
        user_id = _id(value, "userId")
    if recipe_type == "PERSONALIZED_RANKING":
        input_list = _item_list(value)
    values = _filter_values(value)
    mask = None
    if parsed is not None:
        mask = allowed_mask(dep, parsed, values, user_id, source.filter_window)
    if recipe_type == "PERSONALIZED_RANKING":
        ordered, scores, unknown = ranked(dep, input_list=input_list, mask=mask, user_id=user_id)
        return {
            "recommendedItems": dep.model.item_ids[ordered].tolist() + unknown,
            # Items the model does not know come last, with no probability.
            "scores": scores.tolist() + [0.0] * len(unknown),
        }
    indices, item_scores = recommendations(
        dep, user_id=user_id, item_id=item_id, num=source.num_results, mask=mask
    )
    indices = indices[: source.num_results]
    out: dict[str, Any] = {"recommendedItems": dep.model.item_ids[indices].tolist()}
    if item_scores is not None:
        out["scores"] = item_scores[: len(indices)].tolist()
    return out


def _write(out: BinaryIO, line: dict[str, Any]) -> None:
    out.write(orjson.dumps(line))
    out.write(b"\n")


def _answer(
    dep: Deployment, source: BatchSource, parsed: Any, line: bytes
) -> tuple[dict[str, Any], bool]:
    """One input line's output line, and whether it is an error line."""
    value, error = _parse(line)
    if value is None:
        assert error is not None
        return error, True
    try:
        return {"input": value, "output": _infer(dep, value, source, parsed), "error": None}, False
    except ValueError as exc:
        return _error(value, str(exc)), True
    except PersonalizeError as exc:  # a filter's missing parameter
        return _error(value, exc.message), True


def _run_inference(
    dep: Deployment, source: BatchSource, lines: Iterator[bytes], out: BinaryIO
) -> tuple[int, int]:
    """(lines answered, error lines) of a batch inference job.

    Lines are answered by one thread per core, a block at a time, and written in input
    order: the scoring is numpy work that releases the GIL, and the deployment's caches
    (histories, masks, item fields) only ever store the same value for a key."""
    parsed = parse_filter(source.filter_expression) if source.filter_expression else None
    answer = functools.partial(_answer, dep, source, parsed)
    count = errors = 0
    with ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        while block := list(itertools.islice(lines, LINES_PER_BLOCK)):
            for line, failed in pool.map(answer, block):
                _write(out, line)
                errors += failed
            count += len(block)
    return count, errors


def _attribute_items(dep: Deployment, text: str, window: int) -> np.ndarray:
    """The model items whose attributes satisfy `ITEMS.<FIELD> <op> <value> [AND|OR ...]`,
    read with the filter grammar (`filter_parser`) and masked as a filter's conditions."""

    fields = {name.upper(): name for row in dep.group.item_attributes.values() for name in row}

    def field(match: re.Match[str]) -> str:
        name = match.group(1)
        return "Items." + fields.get(name.upper(), name)

    converted, count = re.subn(r"\bITEMS\.([A-Za-z_][A-Za-z0-9_]*)", field, text, flags=re.I)
    if not count:
        raise ValueError(
            'itemAttributes must hold ITEMS.<FIELD> conditions, e.g. ITEMS.GENRES = "Comedy".'
        )
    try:
        parsed = parse_filter(f"INCLUDE ItemID WHERE {converted}")
    except FilterSyntaxError as exc:
        raise ValueError(f"itemAttributes is not valid: {exc}.") from None
    expression = parsed.expressions[0]
    if expression.if_condition is not None or any(
        cond.dataset != "Items" for group in expression.groups for cond in group
    ):
        raise ValueError("itemAttributes may only hold ITEMS.<FIELD> conditions.")
    try:
        mask = allowed_mask(dep, parsed, {}, None, window)
    except PersonalizeError as exc:  # a $PARAMETER: nothing gives its value
        raise ValueError(f"itemAttributes is not valid: {exc.message}") from None
    assert mask is not None
    return np.flatnonzero(mask)


def _segment_query(dep: Deployment, value: dict[str, Any], window: int) -> np.ndarray:
    """The model items a segment line asks about."""
    if dep.model.recipe == "aws-item-attribute-affinity":
        if value.get("itemId") is not None:
            raise ValueError("aws-item-attribute-affinity takes itemAttributes lines, not itemId.")
        text = value.get("itemAttributes")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("itemAttributes is required (a string of ITEMS.<FIELD> conditions).")
        items = _attribute_items(dep, text, window)
        if not len(items):
            raise ValueError("No item of the solution version has these attributes.")
        return items
    if value.get("itemAttributes") is not None:
        raise ValueError("aws-item-affinity takes itemId lines, not itemAttributes.")
    item_id = _id(value, "itemId")
    index = dep.model.item_index.get(item_id)
    if index is None:
        raise ValueError(f"Item {item_id} is not in the solution version's catalogue.")
    return np.array([index], dtype=np.int64)


def _segments(
    dep: Deployment, queries: list[np.ndarray], num: int, progress: Progress
) -> list[list[str]]:
    """For each query (model item indices), the `num` users with the most probability on it:
    P(item | the user's history) as the model gives it, summed over the query's items."""

    users = list(dep.group.histories)
    if not users or not queries:
        return [[] for _ in queries]
    union, inverse = np.unique(np.concatenate(queries), return_inverse=True)
    # queries × union indicator, so that one product sums each query's probabilities.
    rows = np.repeat(np.arange(len(queries)), [len(q) for q in queries])
    indicator = np.zeros((len(queries), len(union)), dtype=np.float32)
    np.add.at(indicator, (rows, inverse), 1.0)
    model = dep.model
    out: list[list[str]] = []
    names = np.array(users, dtype=object)
    step = max(1, SEGMENT_CELLS // len(users))
    blocks = range(0, len(queries), step)
    total = len(users) * len(blocks)
    for b, start in enumerate(blocks):
        block = indicator[start : start + step]
        affinity = np.empty((len(users), len(block)), dtype=np.float32)
        for u, user_id in enumerate(users):
            scored = model.scored(  # type: ignore[attr-defined]
                dep.history(user_id), dep.group.user_attributes.get(user_id)
            )
            affinity[u] = block @ scored.probabilities(union)
            progress(b * len(users) + u + 1, total, "users scored")
        for q in range(len(block)):
            picked = top_k(affinity[:, q], min(num, len(users)))
            out.append(names[picked].tolist())
    return out


def _run_segments(
    dep: Deployment, source: BatchSource, lines: Iterator[bytes], out: BinaryIO, progress: Progress
) -> tuple[int, int]:
    """(lines answered, error lines) of a batch segment job: every line is read first, so
    that each user is scored once for all of them."""
    answers: list[tuple[Any, np.ndarray | None, str | None]] = []
    for line in lines:
        value, error = _parse(line)
        if error is not None:
            answers.append((error["input"], None, error["error"]))
            continue
        try:
            answers.append((value, _segment_query(dep, value, source.filter_window), None))
        except ValueError as exc:
            answers.append((value, None, str(exc)))
        except PersonalizeError as exc:
            answers.append((value, None, exc.message))
    queries = [q for _, q, _ in answers if q is not None]
    users = iter(_segments(dep, queries, source.num_results, progress))
    errors = 0
    for given, query, message in answers:
        if query is None:
            errors += 1
            _write(out, _error(given, message or "The line cannot be answered."))
        else:
            _write(out, {"input": given, "output": {"usersList": next(users)}, "error": None})
    return len(answers), errors


def run_batch(source: BatchSource) -> BatchOutcome:
    """Runs in the worker process: answer every input line into `source.output_file`."""
    started = time.perf_counter()
    progress = Progress(source.progress_file)
    model = load_model(Path(source.model_dir))
    group = build_group(source.group_arn, source.interactions, source.items, source.users)
    dep = Deployment("", source.version_arn, model, group)
    with open(source.input_file, "rb") as handle, open(source.output_file, "wb") as out:
        lines = _lines(handle, progress)
        if source.kind == SEGMENT:
            count, errors = _run_segments(dep, source, lines, out, progress)
        else:
            count, errors = _run_inference(dep, source, lines, out)
    progress(count, count, "lines", final=True)
    return BatchOutcome(lines=count, errors=errors, seconds=time.perf_counter() - started)


# --- in the API process --------------------------------------------------------------------


async def _upload(ctx: EngineContext, local: Path, location: str) -> None:
    bucket, key = split_s3_url(location)
    try:
        async with s3_client(ctx.settings.S3_ENDPOINT_URL, ctx.settings.AWS_REGION) as s3:
            with open(local, "rb") as body:  # one PUT of the finished file
                await s3.put_object(Bucket=bucket, Key=key, Body=body)
    except Exception as exc:
        raise StepFailed(f"Cannot write {location}: {exc}") from None


def _join(folder: str, name: str) -> str:
    return folder.rstrip("/") + "/" + name


def _local_output(location: str, roots: list[str]) -> Path:
    """The output folder's real path, checked inside the roots again (time of use)."""
    try:
        real = Path(import_roots.check(location, roots))
    except import_roots.OutsideRoots:
        raise StepFailed(
            f"jobOutput path {location} is outside the engine's import roots (IMPORT_ROOTS)."
        ) from None
    if not real.is_dir():
        raise StepFailed(f"jobOutput path {location} is not an existing folder.")
    return real


async def _local_input(location: str, source: Source, scratch: Path) -> Path:
    """The input as a local file the worker can open: the import reader's download of an
    `s3://` object, or a copy of the `file://` file it opened (checked on that file)."""
    if isinstance(source.file, Path):
        return source.file
    copy = scratch / "input.jsonl"

    def write() -> None:
        with open(copy, "wb") as out:
            shutil.copyfileobj(source.file, out, 1 << 20)

    try:
        await asyncio.to_thread(write)
    except OSError as exc:
        raise StepFailed(f"Cannot read {location}: {exc.strerror}") from None
    return copy


async def _log_progress(arn: str, path: Path) -> None:
    """Log the worker's progress while the job runs (cancelled when it ends)."""
    last = None
    while True:
        await asyncio.sleep(PROGRESS_SECONDS)
        now = await asyncio.to_thread(read_progress, path)
        if now is not None and now != last:
            done, total, unit = now
            share = 100 * done / max(total, 1)
            logger.info("%s: %d of %d %s (%.0f %%)", arn, done, total, unit, share)
            last = now


async def run_job(
    ctx: EngineContext,
    *,
    arn: str,
    kind: str,
    version_arn: str,
    group_arn: str,
    artifact_key: str,
    filter_expression: str | None,
    num_results: int,
    input_path: str,
    output_path: str,
) -> BatchOutcome:
    """The work of a batch job's CREATE IN_PROGRESS; StepFailed says why it failed."""

    try:
        model_dir = await ctx.artifacts.fetch(artifact_key)
    except FileNotFoundError as exc:
        raise StepFailed(
            f"The model of solution version {version_arn} cannot be loaded: {exc}"
        ) from None
    where = {"sessionmaker": ctx.sessionmaker, "artifacts": ctx.artifacts, "group_arn": group_arn}
    interactions = await interaction_parts(**where)
    items = await record_parts(**where, dataset_type="ITEMS")
    users = await record_parts(**where, dataset_type="USERS")
    name = output_name(input_path)
    local_folder = None
    if output_path.startswith("file://"):
        local_folder = _local_output(output_path, list(ctx.settings.IMPORT_ROOTS))
    scratch = Path(tempfile.mkdtemp(prefix="engine-batch-"))
    # A local folder gets a hidden temporary file beside the final one (same filesystem,
    # so the rename is atomic); S3 gets the finished file in one PUT.
    if local_folder is not None:
        written = local_folder / f".{name}.{uuid.uuid4().hex}.tmp"
    else:
        written = scratch / name
    progress = scratch / "progress.json"
    watcher = None
    try:
        # Check_locations refused folders at Create: the reader gives this one file.
        async with local_sources(ctx, input_path) as sources:
            input_file = await _local_input(input_path, sources[0], scratch)
            source = BatchSource(
                kind=kind,
                group_arn=group_arn,
                version_arn=version_arn,
                model_dir=str(model_dir),
                interactions=interactions,
                items=items,
                users=users,
                num_results=num_results,
                filter_expression=filter_expression,
                filter_window=ctx.settings.FILTER_INTERACTION_WINDOW,
                input_file=str(input_file),
                output_file=str(written),
                progress_file=str(progress),
            )
            watcher = asyncio.ensure_future(_log_progress(arn, progress))
            try:
                outcome: BatchOutcome = await ctx.worker.call(run_batch, source)
            except RuntimeError as exc:  # the worker process died (BrokenProcessPool)
                raise StepFailed(f"The batch job failed: {exc}") from None
        if local_folder is not None:
            await asyncio.to_thread(os.replace, written, local_folder / name)
        else:
            await _upload(ctx, written, _join(output_path, name))
        logger.info(
            "%s: %d lines (%d errors) in %.1f s in the worker",
            arn,
            outcome.lines,
            outcome.errors,
            outcome.seconds,
        )
        return outcome
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        with contextlib.suppress(OSError):
            written.unlink()  # left only when the job failed before its rename
        await asyncio.to_thread(shutil.rmtree, scratch, True)
