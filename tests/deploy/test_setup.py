"""scripts/setup refuses what it cannot honour before it touches .venv.

(Its installing path runs on every fresh checkout: CI's `make test` starts with it.)
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.utils.servers import ROOT


def _setup(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts/setup")], env={**os.environ, **env}, capture_output=True,
        text=True, timeout=60, check=False,
    )


def test_an_unknown_torch_variant_is_refused() -> None:
    done = _setup(TORCH_VARIANT="rocm")
    assert done.returncode == 1
    assert "TORCH_VARIANT must be cpu or cuda, not 'rocm'" in done.stderr


@pytest.mark.parametrize("python", ["/bin/false", "no-such-python"])
def test_a_python_bin_that_is_not_3_11_to_3_13_is_refused(python: str) -> None:
    done = _setup(PYTHON_BIN=python)
    assert done.returncode == 1
    assert f"PYTHON_BIN={python} does not run as Python 3.11, 3.12 or 3.13" in done.stderr
