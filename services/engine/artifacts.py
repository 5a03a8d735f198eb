"""Where trained models live: a directory (file://) or an S3 prefix (s3://).

Writes are atomic. The worker saves a model into a local staging directory; `publish`
then makes it visible in one step:
- file://: the staging directory is inside the artifact root and is renamed into place;
- s3://: the files go under a fresh `<key>/<uuid>/` prefix, and `<key>/manifest.json`,
  written last, points at it. A reader that finds no manifest finds no model.
Models are plain files (npz without pickle, JSON), written by TrainedModel.save.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from urllib.parse import urlparse

from services.engine.s3 import list_keys, s3_client, split_s3_url

MODEL_MARKER = "model.json"  # written last by TrainedModel.save
# A staging directory untouched this long belongs to a process that died (an import stages
# for seconds, a 25M training for minutes): removed when an engine starts.
STALE_STAGING_SECONDS = 6 * 3600


class ArtifactStore(ABC):
    @abstractmethod
    def staging_dir(self) -> Path:
        """A fresh local directory path (not created) for the worker to save a model into."""

    @abstractmethod
    async def publish(self, staging: Path, key: str) -> None:
        """Make the model in `staging` the artifact `key`, atomically."""

    @abstractmethod
    async def fetch(self, key: str, *, marker: str = MODEL_MARKER) -> Path:
        """A local directory holding the artifact `key`, whose file `marker` says it is
        whole (FileNotFoundError if there is none)."""

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    def _staging_entries(self) -> list[Path]: ...

    async def sweep_staging(self, *, older_than: float = STALE_STAGING_SECONDS) -> int:
        """Remove staging directories left by killed imports, compactions or trainings."""
        cutoff = time.time() - older_than
        stale = []
        for entry in self._staging_entries():
            try:
                if entry.stat().st_mtime < cutoff:
                    stale.append(entry)
            except FileNotFoundError:  # finished meanwhile
                continue
        for entry in stale:
            await asyncio.to_thread(shutil.rmtree, entry, True)
        return len(stale)


class FileArtifactStore(ArtifactStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".staging").mkdir(exist_ok=True)

    def staging_dir(self) -> Path:
        return self.root / ".staging" / uuid.uuid4().hex

    def _staging_entries(self) -> list[Path]:
        return list((self.root / ".staging").iterdir())

    def _final(self, key: str) -> Path:
        return self.root / key

    async def publish(self, staging: Path, key: str) -> None:
        final = self._final(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # a retried publish replaces the old copy
            await asyncio.to_thread(shutil.rmtree, final)
        staging.rename(final)

    async def fetch(self, key: str, *, marker: str = MODEL_MARKER) -> Path:
        final = self._final(key)
        if not (final / marker).is_file():
            raise FileNotFoundError(f"no artifact at {final}")
        return final

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._final(key), True)


class S3ArtifactStore(ArtifactStore):
    def __init__(self, url: str, *, endpoint_url: str | None, region: str, cache_dir: Path) -> None:
        self.bucket, prefix = split_s3_url(url)
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self.cache_dir = cache_dir
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def staging_dir(self) -> Path:
        return Path(tempfile.gettempdir()) / f"engine-staging-{uuid.uuid4().hex}"

    def _staging_entries(self) -> list[Path]:
        return list(Path(tempfile.gettempdir()).glob("engine-staging-*"))

    async def publish(self, staging: Path, key: str) -> None:
        version = uuid.uuid4().hex
        files = sorted(p.name for p in staging.iterdir() if p.is_file())
        async with s3_client(self.endpoint_url, self.region) as s3:
            for name in files:
                await s3.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key, version, name),
                    Body=(staging / name).read_bytes(),
                )
            manifest = json.dumps({"version": version, "files": files}).encode()
            await s3.put_object(
                Bucket=self.bucket, Key=self._key(key, "manifest.json"), Body=manifest
            )
        await asyncio.to_thread(shutil.rmtree, staging, True)

    async def fetch(self, key: str, *, marker: str = MODEL_MARKER) -> Path:
        async with s3_client(self.endpoint_url, self.region) as s3:
            try:
                response = await s3.get_object(
                    Bucket=self.bucket, Key=self._key(key, "manifest.json")
                )
            except s3.exceptions.NoSuchKey:
                raise FileNotFoundError(f"no manifest for {key}") from None
            async with response["Body"] as stream:
                manifest = json.loads(await stream.read())
            local = self.cache_dir / key.replace("/", "_") / manifest["version"]
            if (local / marker).is_file():
                return local
            tmp = local.with_name(local.name + f".tmp-{uuid.uuid4().hex}")
            tmp.mkdir(parents=True)
            for name in manifest["files"]:
                obj = await s3.get_object(
                    Bucket=self.bucket, Key=self._key(key, manifest["version"], name)
                )
                async with obj["Body"] as stream:
                    (tmp / name).write_bytes(await stream.read())
        tmp.rename(local)
        return local

    async def delete(self, key: str) -> None:
        async with s3_client(self.endpoint_url, self.region) as s3:
            # Every page of the listing: a model can hold more than 1,000 objects (or
            # versions left over from retried publishes), and each must go.
            names = await list_keys(s3, self.bucket, self._key(key) + "/")
            # DeleteObjects takes up to 1,000 keys a call: one round trip per batch.
            for start in range(0, len(names), 1000):
                batch = [{"Key": name} for name in names[start : start + 1000]]
                answer = await s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                if answer.get("Errors"):  # per-key failures come back in a 200 answer
                    first = answer["Errors"][0]
                    raise OSError(
                        f"Cannot delete s3://{self.bucket}/{first['Key']}: {first.get('Message')}"
                    )


def artifact_store(
    url: str, *, endpoint_url: str | None, region: str, cache_dir: str | None
) -> ArtifactStore:
    """The store ARTIFACTS_URL names."""
    if url.startswith("file://"):
        return FileArtifactStore(Path(urlparse(url).path))
    cache = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "engine-artifact-cache"
    return S3ArtifactStore(url, endpoint_url=endpoint_url, region=region, cache_dir=cache)
