"""Dataset import jobs: stream a CSV, check every row against the schema, store it atomically.

Sources: `s3://bucket/key` (or `s3://bucket/prefix/` for every object under it) through
aiobotocore at S3_ENDPOINT_URL, and `file:///abs/path` (our documented extension for the
embedded mode: read on the engine's host, only inside IMPORT_ROOTS). S3 objects are
streamed to local temporary files first, so memory stays bounded whatever their size.

Rows are read block by block (`csv_stream.read_csv`, vectorised) and never held whole:
they go straight into Parquet parts (`dataset_files`), which become the dataset's rows
in one transaction at the end. A failure names the row and leaves the dataset untouched;
it quotes at most EXCERPT characters of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyarrow as pa

from services.engine import dataset_files, import_roots
from services.engine.avro import AvroSchema, check_for_dataset, parse_schema
from services.engine.csv_stream import read_csv
from services.engine.lifecycle import StepFailed
from services.engine.models import Dataset, DatasetImportJob, Schema
from services.engine.s3 import list_keys, s3_client, split_s3_url

if TYPE_CHECKING:
    from services.engine.context import EngineContext

logger = logging.getLogger(__name__)
# Objects of an s3:// prefix fetched at the same time.
S3_READ_CONCURRENCY = 16
S3_CHUNK = 1 << 20  # bytes read from an object's stream at a time


@dataclass(frozen=True)
class Source:
    """One file to import: the location to name in messages, and a readable local file."""

    name: str
    file: BinaryIO | Path


@contextlib.asynccontextmanager
async def local_sources(ctx: EngineContext, location: str) -> AsyncIterator[list[Source]]:
    """The files at `location`, in key order, readable locally while the context lasts;
    StepFailed says why they cannot be read."""
    if location.startswith("file://"):
        # Checked again here, on the file actually opened: the roots may have changed since
        # the job was created, or a symlink been swapped in (services/engine/import_roots.py).
        try:
            handle = await asyncio.to_thread(
                import_roots.open_inside, location, ctx.settings.IMPORT_ROOTS
            )
        except (import_roots.OutsideRoots, import_roots.Unreadable) as exc:
            raise StepFailed(str(exc)) from None
        if handle is None:
            raise StepFailed(f"Input file {location} does not exist.")
        with handle:
            yield [Source(location, handle)]
        return
    if not location.startswith("s3://"):
        raise StepFailed(
            f"Unsupported data location {location}: use s3://bucket/key or file:///path."
        )
    folder = Path(tempfile.mkdtemp(prefix="engine-import-"))
    try:
        yield await _download(ctx, location, folder)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


async def _download(ctx: EngineContext, location: str, folder: Path) -> list[Source]:
    bucket, key = split_s3_url(location)
    try:
        async with s3_client(ctx.settings.S3_ENDPOINT_URL, ctx.settings.AWS_REGION) as s3:
            keys = [key]
            if not key or key.endswith("/"):
                # Folder markers (keys ending in "/") hold no rows.
                keys = [k for k in await list_keys(s3, bucket, key) if not k.endswith("/")]
                if not keys:
                    raise StepFailed(f"No objects found under {location}.")
            # A prefix may hold thousands of small files: fetch several at once, one round
            # trip each, each streamed to its own local file.
            gate = asyncio.Semaphore(S3_READ_CONCURRENCY)

            async def get(index: int, name: str) -> Source:
                target = folder / f"{index:06d}.csv"
                async with gate:
                    response = await s3.get_object(Bucket=bucket, Key=name)
                    async with response["Body"] as stream:
                        with open(target, "wb") as out:
                            while chunk := await stream.read(S3_CHUNK):
                                out.write(chunk)
                return Source(f"s3://{bucket}/{name}", target)

            tasks = [asyncio.ensure_future(get(i, name)) for i, name in enumerate(keys)]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                # The first failure decides the job: stop the other reads before the client
                # closes under them.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    except StepFailed:
        raise
    except Exception as exc:  # botocore's errors carry the S3 code in their text
        raise StepFailed(f"Cannot read {location}: {exc}") from None


def _is_empty(source: Source) -> bool:
    """An object holding nothing but whitespace (e.g. a _SUCCESS marker under a prefix)."""
    if isinstance(source.file, Path):
        with open(source.file, "rb") as handle:
            return not handle.read(4096).strip() and handle.read(1) == b""
    return False


def _batches(sources: list[Source], schema: AvroSchema) -> Iterator[pa.RecordBatch]:
    """Every file's checked batches, each file with its own header, as one dataset.

    Rows are numbered within their file; when there are several files a failure also
    names the file, so `Row N` can be found."""
    for source in sources:
        if len(sources) > 1 and _is_empty(source):
            continue
        try:
            yield from read_csv(source.file, schema)
        except StepFailed as exc:
            if len(sources) == 1:
                raise
            raise StepFailed(f"In {source.name}: {exc}") from None


def stage(
    sources: list[Source], schema: AvroSchema, staging: Path, dataset_type: str
) -> dataset_files.StagedSet:
    """Read and check every row, writing Parquet parts into `staging` as they come."""
    writer = dataset_files.PartWriter(staging, dataset_type=dataset_type)
    for batch in _batches(sources, schema):
        writer.write(batch)
    return writer.finish()


async def run_import(ctx: EngineContext, job_arn: str) -> None:
    """The work of CREATE IN_PROGRESS for a dataset import job."""
    async with ctx.sessionmaker() as session:
        job = await session.get(DatasetImportJob, job_arn)
        dataset = await session.get(Dataset, job.dataset_arn) if job else None
        schema = await session.get(Schema, dataset.schema_arn) if dataset else None
    if job is None or dataset is None or schema is None:
        raise StepFailed("The dataset or its schema was deleted during the import.")
    parsed = parse_schema(schema.definition)
    check_for_dataset(parsed, dataset.dataset_type)
    group_arn, dataset_type = dataset.dataset_group_arn, dataset.dataset_type
    async with local_sources(ctx, job.data_location) as sources:
        staging = ctx.artifacts.staging_dir()
        try:
            staged = await asyncio.to_thread(stage, sources, parsed, staging, dataset_type)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, staging, True)
            raise
    try:
        minimum = ctx.settings.MIN_INTERACTIONS_PER_IMPORT
        if dataset_type == "INTERACTIONS" and job.import_mode == "FULL" and staged.rows < minimum:
            raise StepFailed(
                f"The file has {staged.rows} records; "
                f"a FULL import of interactions needs at least {minimum}."
            )
        if not staged.rows:
            raise StepFailed("The file has no records.")
        await dataset_files.install(
            sessionmaker=ctx.sessionmaker,
            artifacts=ctx.artifacts,
            staged=staged,
            dataset_arn=dataset.arn,
            group_arn=group_arn,
            job_arn=job_arn,
            mode=job.import_mode,
        )
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)
    ctx.metrics.imported_rows.labels(dataset_type).inc(staged.rows)
    await ctx.serving.reload_group(group_arn)
    if job.import_mode == "INCREMENTAL":
        count = await dataset_files.set_count(ctx.sessionmaker, dataset.arn)
        if count > dataset_files.COMPACT_AFTER:
            ctx.spawn(f"compact:{dataset.arn}", _compact(ctx, dataset.arn))


async def _compact(ctx: EngineContext, dataset_arn: str) -> None:
    try:
        await dataset_files.compact(
            sessionmaker=ctx.sessionmaker, artifacts=ctx.artifacts, dataset_arn=dataset_arn
        )
    except Exception:  # the sets stay as they were; the next import tries again
        logger.exception("merging the file sets of %s failed", dataset_arn)
