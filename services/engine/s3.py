"""One aiobotocore S3 client factory for imports and artifacts (S3_ENDPOINT_URL aware)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

from aiobotocore.session import get_session
from botocore.config import Config

S3_CONFIG = Config(
    connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}
)


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    parsed = urlparse(url)
    return parsed.netloc, parsed.path.lstrip("/")


@asynccontextmanager
async def s3_client(endpoint_url: str | None, region: str) -> AsyncIterator[Any]:
    kwargs: dict[str, Any] = {"region_name": region, "config": S3_CONFIG}
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        # A local S3 (moto, MinIO) takes any credentials; give some so the chain never
        # looks for real ones unless the environment provides them.
        if not os.environ.get("AWS_ACCESS_KEY_ID"):
            kwargs["aws_access_key_id"] = "local"
            kwargs["aws_secret_access_key"] = "local"
    async with get_session().create_client("s3", **kwargs) as client:
        yield client


async def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every object key under `prefix`, sorted.

    One ListObjectsV2 call returns at most 1,000 keys, so the paginator follows the
    continuation tokens until the listing is complete.
    """
    keys: list[str] = []
    async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return sorted(keys)
