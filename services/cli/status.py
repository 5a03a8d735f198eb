"""`videorecs status`: the processes of a running `videorecs up` (with their restarts),
campaigns on the Personalize endpoint, models in the registry."""

from __future__ import annotations

import json
import os
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.cli.personalize import list_all
from services.cli.supervisor import SERVICES_FILE
from services.common.aws import AwsSettings, open_clients


def running_services(state_dir: Path) -> dict[str, Any] | None:
    """services.json of the `videorecs up` that runs on `state_dir`, None if none runs."""
    try:
        body: dict[str, Any] = json.loads((state_dir / SERVICES_FILE).read_text())
        os.kill(int(body["pid"]), 0)  # that run is still alive (a leftover file is not)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return body


def print_services(console: Console, state_dir: Path) -> dict[str, Any] | None:
    """The table of `videorecs up`'s children, if one runs on `state_dir`."""
    body = running_services(state_dir)
    if body is None:
        console.print(f"no `videorecs up` is running on {state_dir}", highlight=False)
        return None
    table = Table("service", "url", "pid", "state", "since", "restarts", "last exit", "spare")
    for name, row in body["services"].items():
        last = "-"
        if row.get("last_exit"):
            last = f"{row['last_exit']} at {row['last_exit_at']}"
        table.add_row(name, row["url"], str(row.get("pid") or "-"), row["state"],
                      row.get("started_at") or "-", str(row.get("restarts", 0)), last,
                      row.get("spare") or "-")
    _show(console, table)
    return body


async def print_status(
    console: Console,
    *,
    endpoint_url: str | None,
    region: str,
    registry_url: str | None,
    engine_credentials: tuple[str | None, str | None] = (None, None),
) -> int:
    table = Table("dataset group", "solution", "campaign", "status")
    async with AsyncExitStack() as stack:
        key_id, secret = engine_credentials
        aws = AwsSettings(endpoint_url=endpoint_url, region=region, access_key_id=key_id,
                          secret_access_key=secret)
        client = (await open_clients(stack, aws, "personalize"))["personalize"]
        for group in await list_all(client, "list_dataset_groups", "datasetGroups"):
            solutions = await list_all(
                client, "list_solutions", "solutions", datasetGroupArn=group["datasetGroupArn"]
            )
            for solution in solutions:
                campaigns = await list_all(
                    client, "list_campaigns", "campaigns", solutionArn=solution["solutionArn"]
                )
                for campaign in campaigns or [{"name": "-", "status": "-"}]:
                    table.add_row(group["name"], solution["name"], campaign["name"],
                                  campaign["status"])
    _show(console, table)
    if registry_url:
        async with httpx.AsyncClient(base_url=registry_url, timeout=10.0) as http:
            response = await http.get("/models")
            response.raise_for_status()
            models = Table("id", "name", "type", "sort", "recipe")
            for model in response.json()["data"]:
                models.add_row(str(model["id"]), model["name"], model["type"],
                               str(model["sort_order"]), model.get("recipe") or "-")
            _show(console, models)
    return 0


def _show(console: Console, table: Table) -> None:
    """A table on a terminal; tab-separated lines otherwise, so nothing is cut to fit."""
    if console.is_terminal:
        console.print(table)
        return
    # Straight to the stream: Rich would expand the tabs into spaces.
    lines = ["\t".join(str(c.header) for c in table.columns)]
    lines += ["\t".join(str(cell) for cell in row)
              for row in zip(*(c.cells for c in table.columns), strict=True)]
    console.file.write("\n".join(lines) + "\n")
