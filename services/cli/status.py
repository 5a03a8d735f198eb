"""`videorecs status`: campaigns on the Personalize endpoint, models in the registry."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
from rich.console import Console
from rich.table import Table

from services.cli.personalize import list_all
from services.common.aws import AwsSettings, open_clients


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
    console.print("\t".join(str(c.header) for c in table.columns), highlight=False)
    for row in zip(*(c.cells for c in table.columns), strict=True):
        console.print("\t".join(str(cell) for cell in row), highlight=False, soft_wrap=True)
