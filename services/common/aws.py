"""One factory for the Personalize clients every service uses.

Whether a client talks to the local engine or to AWS is configuration only:
`PERSONALIZE_ENDPOINT_URL` set means the local engine, which verifies Signature V4 with
the key pair it was given (`ENGINE_ACCESS_KEY_ID`, `ENGINE_SECRET_ACCESS_KEY`); unset means
AWS with the standard credential chain and `AWS_REGION`.
"""

from __future__ import annotations

import datetime
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.session import get_session
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from pydantic import BaseModel, SecretStr, model_validator

from services.common.config import BaseServiceSettings
from services.common.logging import request_id_var

# Named defaults; callers override them per downstream.
DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_MAX_POOL = 50

PERSONALIZE_SERVICES = ("personalize", "personalize-runtime", "personalize-events")
# The SigV4 service name all three sign with.
PERSONALIZE_SIGNING_NAME = "personalize"


class AwsSettings(BaseModel):
    """The part of a service's settings that says where Personalize is."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    # The engine's key pair; only used with `endpoint_url` (AWS takes the credential chain).
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_attempts: int = 2
    max_pool_connections: int = DEFAULT_MAX_POOL
    # botocore checks every request against the service model before sending; a hot path
    # that builds its own well-typed requests may skip it (the service validates anyway).
    parameter_validation: bool = True


def client_kwargs(aws: AwsSettings) -> dict[str, Any]:
    """Keyword arguments for `session.create_client` (aiobotocore) or `boto3.client`."""
    kwargs: dict[str, Any] = {
        "region_name": aws.region,
        "config": Config(
            connect_timeout=aws.connect_timeout,
            read_timeout=aws.read_timeout,
            retries={"max_attempts": aws.max_attempts, "mode": "standard"},
            max_pool_connections=aws.max_pool_connections,
            parameter_validation=aws.parameter_validation,
        ),
    }
    if aws.endpoint_url:
        if not aws.access_key_id or aws.secret_access_key is None:
            raise ValueError(
                f"ENGINE_ACCESS_KEY_ID and ENGINE_SECRET_ACCESS_KEY are needed to call the "
                f"engine at {aws.endpoint_url}"
            )
        kwargs["endpoint_url"] = aws.endpoint_url
        # Explicit keys: the credential chain never goes looking for real AWS ones (and
        # never sends them to a local server).
        kwargs["aws_access_key_id"] = aws.access_key_id
        kwargs["aws_secret_access_key"] = aws.secret_access_key.get_secret_value()
    return kwargs


class PersonalizeSettings(BaseServiceSettings):
    """Settings of a service that calls Personalize: the engine (with its key pair) or AWS."""

    # Unset: AWS with the standard credential chain. Set: the local engine.
    PERSONALIZE_ENDPOINT_URL: str | None = None
    AWS_REGION: str = "us-east-1"
    ENGINE_ACCESS_KEY_ID: str | None = None
    ENGINE_SECRET_ACCESS_KEY: SecretStr | None = None

    @model_validator(mode="after")
    def _engine_credentials(self) -> PersonalizeSettings:
        if self.PERSONALIZE_ENDPOINT_URL and not (
            self.ENGINE_ACCESS_KEY_ID and self.ENGINE_SECRET_ACCESS_KEY
        ):
            raise ValueError(
                "PERSONALIZE_ENDPOINT_URL is set, so ENGINE_ACCESS_KEY_ID and "
                "ENGINE_SECRET_ACCESS_KEY (the engine's key pair) must be set too"
            )
        return self

    def personalize_aws(self, **options: Any) -> AwsSettings:
        """Client settings for Personalize; `options` override timeouts and pools."""
        return AwsSettings(
            endpoint_url=self.PERSONALIZE_ENDPOINT_URL or None,
            region=self.AWS_REGION,
            access_key_id=self.ENGINE_ACCESS_KEY_ID,
            secret_access_key=self.ENGINE_SECRET_ACCESS_KEY,
            **options,
        )


def forward_request_id(request: Any, **_: Any) -> None:
    """botocore `before-sign` hook: one request id follows a request into Personalize too
    (the local engine logs it; AWS ignores the extra header)."""
    request_id = request_id_var.get()
    if request_id and "X-Request-ID" not in request.headers:
        request.headers["X-Request-ID"] = request_id


async def open_clients(stack: AsyncExitStack, aws: AwsSettings, *services: str) -> dict[str, Any]:
    """Open one aiobotocore client per service name on `stack`; closed when it closes."""
    session = get_session()
    kwargs = client_kwargs(aws)
    clients = {}
    for name in services:
        client = await stack.enter_async_context(session.create_client(name, **kwargs))
        client.meta.events.register("before-sign.*.*", forward_request_id)
        clients[name] = client
    return clients


def sigv4_headers(
    url: str,
    *,
    key_id: str,
    secret: str,
    body: bytes = b"",
    method: str = "POST",
    headers: dict[str, str] | None = None,
    region: str = "us-east-1",
    when: datetime.datetime | None = None,
) -> dict[str, str]:
    """`headers` plus `X-Amz-Date` and the Signature V4 `Authorization` of `method url`
    with `body`, signed by botocore's own signer at `when` (default now), for raw HTTP
    requests to the engine: load generators and tests, including deliberately bad ones."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    stamp = (when or datetime.datetime.now(datetime.UTC)).strftime(SIGV4_TIMESTAMP)
    request.context["timestamp"] = stamp
    request.headers["X-Amz-Date"] = stamp
    signer = SigV4Auth(Credentials(key_id, secret), PERSONALIZE_SIGNING_NAME, region)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{stamp[:8]}/{region}/"
        f"{PERSONALIZE_SIGNING_NAME}/aws4_request, SignedHeaders={signed}, Signature={signature}"
    )
    return dict(request.headers.items())
