"""Where each deployment lets the engine read file:// imports (services/engine/README.md)."""

from __future__ import annotations

import re

import yaml

from tests.deploy.test_compose import REQUIRED, _compose
from tests.utils.servers import ROOT


def test_compose_engine_reads_only_the_bootstraps_imports_folder() -> None:
    rendered = yaml.safe_load(_compose("config", env=REQUIRED).stdout)["services"]
    engine, bootstrap = rendered["engine"], rendered["bootstrap"]
    assert engine["environment"]["IMPORT_ROOTS"] == "/var/lib/videorecs/imports"
    # The bootstrap writes its CSV there (file:// import); the engine mounts it read-only.
    assert "--work-dir /var/lib/videorecs/imports" in " ".join(bootstrap["command"])
    mounts = [str(volume) for volume in engine["volumes"]]
    assert any("/var/lib/videorecs/imports" in m and "ro" in m for m in mounts), mounts


def test_ecs_engine_allows_no_file_imports() -> None:
    """The ECS stack imports from S3: the engine's roots are explicitly empty."""
    template = (ROOT / "deploy/ecs/template.yaml").read_text()
    assert re.search(r'\{Name: IMPORT_ROOTS, Value: ""\}', template)
    assert "DATA_LOCATION, Value: !Sub \"s3://" in template
