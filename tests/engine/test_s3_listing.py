"""S3 listings go past one ListObjectsV2 page (1,000 keys): the model store deletes everything."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from services.engine.artifacts import S3ArtifactStore
from services.engine.s3 import list_keys, s3_client
from tests.engine.helpers import unique

BUCKET = "engine-tests"
OBJECTS = 1003  # one page and a bit


async def test_artifact_delete_removes_more_than_a_page(
    s3: Any, moto_server: str, tmp_path: Path
) -> None:
    prefix = unique("art")
    names = [f"{prefix}/model/v{n // 500}/part-{n:05d}.npz" for n in range(OBJECTS)]
    with ThreadPoolExecutor(16) as pool:  # one PutObject is a round trip to moto
        list(pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=b"x"), names))
    kept = f"{prefix}/model-2/manifest.json"  # a neighbour sharing the string prefix
    s3.put_object(Bucket=BUCKET, Key=kept, Body=b"{}")

    async with s3_client(moto_server, "us-east-1") as client:
        assert await list_keys(client, BUCKET, f"{prefix}/model/") == sorted(names)

    store = S3ArtifactStore(
        f"s3://{BUCKET}/{prefix}", endpoint_url=moto_server, region="us-east-1", cache_dir=tmp_path
    )
    await store.delete("model")

    async with s3_client(moto_server, "us-east-1") as client:
        assert await list_keys(client, BUCKET, f"{prefix}/") == [kept]
