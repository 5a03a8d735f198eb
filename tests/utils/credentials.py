"""The engine key pair every test engine verifies and every test client signs with.

Test-only values (the engine refuses nothing about them but their shape); `videorecs up`
generates a real pair into secrets.env, and deployments take theirs from the environment.
"""

from __future__ import annotations

from typing import Any

ENGINE_ACCESS_KEY_ID = "VRAKTESTPAIR0000001"
ENGINE_SECRET_ACCESS_KEY = "tests-only-engine-secret-key-0123456789"
REGION = "us-east-1"


def engine_keys_env() -> dict[str, str]:
    """The engine's settings (and any client service's) for the test pair."""
    return {
        "ENGINE_ACCESS_KEY_ID": ENGINE_ACCESS_KEY_ID,
        "ENGINE_SECRET_ACCESS_KEY": ENGINE_SECRET_ACCESS_KEY,
    }


def boto_credentials() -> dict[str, Any]:
    """boto3.client(...) / session.create_client(...) keyword arguments for the test pair."""
    return {
        "aws_access_key_id": ENGINE_ACCESS_KEY_ID,
        "aws_secret_access_key": ENGINE_SECRET_ACCESS_KEY,
    }
