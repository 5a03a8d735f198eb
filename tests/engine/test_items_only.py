"""Items that exist only in the Items dataset (no interactions yet) are in the catalogue."""

from __future__ import annotations

from pathlib import Path

from tests.engine.helpers import (
    ITEMS_SCHEMA,
    ROLE_ARN,
    Clients,
    create_group,
    deploy_many,
    items_csv,
    train_many,
    unique,
    wait_for,
    write,
)

NEW_ITEM = "i-new"  # in the Items dataset, never interacted with


def test_items_only_item_is_ranked_and_recommendable(clients: Clients, tmp_path: Path) -> None:
    p = clients.personalize
    group = create_group(p, tmp_path)["group"]
    schema = p.create_schema(name=unique("items"), schema=ITEMS_SCHEMA)["schemaArn"]
    dataset = p.create_dataset(
        name=unique("items"), schemaArn=schema, datasetGroupArn=group, datasetType="ITEMS"
    )["datasetArn"]
    wait_for(p.describe_dataset, "dataset", datasetArn=dataset)
    text = items_csv() + f"{NEW_ITEM},Comedy,2001\n"
    job = p.create_dataset_import_job(
        jobName=unique("job"),
        datasetArn=dataset,
        dataSource={"dataLocation": write(tmp_path / "items.csv", text)},
        roleArn=ROLE_ARN,
    )["datasetImportJobArn"]
    status = wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    assert status["status"] == "ACTIVE", status

    # Every recipe trains with an item that has no interactions (none may crash on it).
    recipes = [
        "aws-popularity-count",
        "aws-sims",
        "aws-user-personalization",
        "aws-personalized-ranking",
    ]
    versions = train_many(p, group, recipes)
    campaigns = deploy_many(
        p, {r: versions[r] for r in ("aws-user-personalization", "aws-personalized-ranking")}
    )
    rt = clients.runtime

    inputs = ["i1", NEW_ITEM, "i7", "unknown-item"]
    ranked = rt.get_personalized_ranking(
        campaignArn=campaigns["aws-personalized-ranking"], userId="u2", inputList=inputs
    )["personalizedRanking"]
    assert sorted(r["itemId"] for r in ranked) == sorted(inputs)
    by_id = {r["itemId"]: r for r in ranked}
    # Ranked by the model (it has a score), not appended at the end as an unknown item.
    assert "score" in by_id[NEW_ITEM] and "score" not in by_id["unknown-item"]
    assert ranked[-1]["itemId"] == "unknown-item"

    # The whole catalogue of user-personalization holds it too (50 items + the new one).
    listed = rt.get_recommendations(
        campaignArn=campaigns["aws-user-personalization"], userId="u2", numResults=100
    )["itemList"]
    assert NEW_ITEM in {i["itemId"] for i in listed}
