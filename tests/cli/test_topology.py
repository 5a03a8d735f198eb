"""services.cli.topology: which proxies' X-Forwarded-For each embedded service believes."""

from __future__ import annotations

from pathlib import Path

from services.cli.secrets import load_or_create
from services.cli.topology import PUBLIC_APIS, SERVICES, Topology


def _topology(tmp_path: Path) -> Topology:
    secrets, _ = load_or_create(tmp_path / "secrets.env")
    return Topology(
        urls={name: f"http://127.0.0.1:{8000 + n}" for n, name in enumerate(SERVICES)},
        database_urls={name: f"sqlite:///{tmp_path / name}.db" for name in SERVICES},
        artifacts_url=(tmp_path / "artifacts").as_uri(),
        secrets=secrets,
    )


def test_only_the_apis_behind_the_frontend_believe_forwarded_headers(tmp_path: Path) -> None:
    topology = _topology(tmp_path)
    for service in SERVICES:
        allowed = topology.env(service)["FORWARDED_ALLOW_IPS"]
        if service in PUBLIC_APIS:
            # The frontend's proxy, on loopback: its X-Forwarded-For is the real peer.
            assert allowed == "127.0.0.1,::1", service
        else:
            # The frontend and the engine face browsers: a forged header must not count.
            assert allowed == "", service
