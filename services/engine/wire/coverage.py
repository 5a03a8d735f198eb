"""Which request members of each answered operation the engine honours: the one table.

"Honoured" means the value changes what the engine does as AWS documents it, or is an
identifier or name the engine stores and returns as AWS does. Every other member of the
operation's input in botocore's model is refused with InvalidInputException naming it, so
a client ported from AWS never believes an option works when it does not. A DefaultOnly
member is accepted only with the value that is what the engine does anyway.

`python -m services.engine.wire.coverage > docs/personalize-coverage.md` writes the
coverage table from this module and botocore's models (tests/engine/test_coverage.py checks
that the committed file is current).
"""

from __future__ import annotations

import sys
from typing import Any

from services.engine.wire.model import (
    HONOURED,
    SERVICES,
    DefaultOnly,
    Refused,
    Rule,
    operations,
    walk,
)

# An empty list changes nothing on AWS either, so clients that always pass one still work.
TAGS = DefaultOnly([], "tags are not stored: TagResource and ListTagsForResource are not answered")
LIST = {"nextToken": HONOURED, "maxResults": HONOURED}


def _honoured(*names: str, **rules: Rule) -> dict[str, Rule]:
    return {**dict.fromkeys(names, HONOURED), **rules}


CAMPAIGN_CONFIG: dict[str, Rule] = {
    "minProvisionedTPS": DefaultOnly(1, "the engine reserves no serving capacity"),
    "campaignConfig": HONOURED,
    "campaignConfig.itemExplorationConfig": Refused(
        "is not supported by this engine: its recipes do no item exploration."
    ),
    "campaignConfig.enableMetadataWithRecommendations": DefaultOnly(
        False, "recommendations never carry item metadata"
    ),
    "campaignConfig.syncWithLatestSolutionVersion": DefaultOnly(
        False, "a campaign serves the version it names until UpdateCampaign"
    ),
    "campaignConfig.rankingInfluence": Refused(
        "is not supported by this engine: rankings are not re-weighted by popularity or freshness."
    ),
}

# Batch jobs' input file and output folder (s3:// or file:// inside IMPORT_ROOTS).
BATCH_LOCATIONS = (
    "jobInput",
    "jobInput.s3DataSource",
    "jobInput.s3DataSource.path",
    "jobOutput",
    "jobOutput.s3DataDestination",
    "jobOutput.s3DataDestination.path",
)
BATCH_KMS: dict[str, Rule] = {
    f"{member}.kmsKeyArn": Refused(
        "is not supported by this engine: it does not encrypt with KMS keys."
    )
    for member in ("jobInput.s3DataSource", "jobOutput.s3DataDestination")
}

# (service, operation) -> {member path: rule}; a member path missing here is refused.
# Paths are dotted through structures; a list's element members follow the list's name
# (eventList.itemId).
COVERAGE: dict[tuple[str, str], dict[str, Rule]] = {
    ("personalize", "CreateDatasetGroup"): _honoured(
        "name",
        "roleArn",  # stored and returned by DescribeDatasetGroup
        kmsKeyArn=Refused("is not supported by this engine: it does not encrypt with KMS keys."),
        domain=Refused(
            "is not supported by this engine: domain dataset groups (recommenders) are not "
            "supported; omit it for a custom dataset group."
        ),
        tags=TAGS,
    ),
    ("personalize", "DescribeDatasetGroup"): _honoured("datasetGroupArn"),
    ("personalize", "ListDatasetGroups"): LIST,
    ("personalize", "DeleteDatasetGroup"): _honoured("datasetGroupArn"),
    ("personalize", "CreateSchema"): _honoured(
        "name",
        "schema",
        domain=Refused(
            "is not supported by this engine: domain schemas (recommenders) are not supported."
        ),
    ),
    ("personalize", "DescribeSchema"): _honoured("schemaArn"),
    ("personalize", "ListSchemas"): LIST,
    ("personalize", "DeleteSchema"): _honoured("schemaArn"),
    ("personalize", "CreateDataset"): _honoured(
        "name", "schemaArn", "datasetGroupArn", "datasetType", tags=TAGS
    ),
    ("personalize", "DescribeDataset"): _honoured("datasetArn"),
    ("personalize", "ListDatasets"): _honoured("datasetGroupArn", *LIST),
    ("personalize", "DeleteDataset"): _honoured("datasetArn"),
    ("personalize", "CreateDatasetImportJob"): _honoured(
        "jobName",
        "datasetArn",
        "dataSource",
        "dataSource.dataLocation",
        "roleArn",  # stored and returned; the engine reads S3 with its own credentials
        "importMode",
        publishAttributionMetricsToS3=DefaultOnly(
            False, "there are no metric attributions to publish"
        ),
        tags=TAGS,
    ),
    ("personalize", "DescribeDatasetImportJob"): _honoured("datasetImportJobArn"),
    ("personalize", "ListDatasetImportJobs"): _honoured("datasetArn", *LIST),
    ("personalize", "CreateSolution"): _honoured(
        "name",
        "datasetGroupArn",
        "recipeArn",
        "eventType",
        "performHPO",  # a grid search on a validation split (README "Recipes")
        "solutionConfig",
        "solutionConfig.eventValueThreshold",
        "solutionConfig.algorithmHyperParameters",
        performAutoML=DefaultOnly(False, "AutoML is not run: give recipeArn"),
        performAutoTraining=DefaultOnly(False, "the engine trains only on CreateSolutionVersion"),
        performIncrementalUpdate=DefaultOnly(
            False, "every solution version is trained from all the data"
        ),
        tags=TAGS,
        **{
            "solutionConfig.hpoConfig": Refused(
                "is not supported by this engine: performHPO searches the engine's own grid "
                "of each recipe, scored by NDCG@10."
            ),
            "solutionConfig.autoMLConfig": Refused(
                "is not supported by this engine: AutoML is not run; give recipeArn."
            ),
            "solutionConfig.autoTrainingConfig": Refused(
                "is not supported by this engine: it does not train automatically."
            ),
        },
    ),
    ("personalize", "DescribeSolution"): _honoured("solutionArn"),
    ("personalize", "ListSolutions"): _honoured("datasetGroupArn", *LIST),
    ("personalize", "DeleteSolution"): _honoured("solutionArn"),
    ("personalize", "CreateSolutionVersion"): _honoured(
        "name", "solutionArn", "trainingMode", tags=TAGS
    ),
    ("personalize", "DescribeSolutionVersion"): _honoured("solutionVersionArn"),
    ("personalize", "ListSolutionVersions"): _honoured("solutionArn", *LIST),
    ("personalize", "StopSolutionVersionCreation"): _honoured("solutionVersionArn"),
    ("personalize", "GetSolutionMetrics"): _honoured("solutionVersionArn"),
    ("personalize", "CreateCampaign"): _honoured(
        "name", "solutionVersionArn", tags=TAGS, **CAMPAIGN_CONFIG
    ),
    ("personalize", "DescribeCampaign"): _honoured("campaignArn"),
    ("personalize", "ListCampaigns"): _honoured("solutionArn", *LIST),
    ("personalize", "UpdateCampaign"): _honoured(
        "campaignArn", "solutionVersionArn", **CAMPAIGN_CONFIG
    ),
    ("personalize", "DeleteCampaign"): _honoured("campaignArn"),
    ("personalize", "CreateFilter"): _honoured(
        "name", "datasetGroupArn", "filterExpression", tags=TAGS
    ),
    ("personalize", "DescribeFilter"): _honoured("filterArn"),
    ("personalize", "ListFilters"): _honoured("datasetGroupArn", *LIST),
    ("personalize", "DeleteFilter"): _honoured("filterArn"),
    ("personalize", "CreateEventTracker"): _honoured("name", "datasetGroupArn", tags=TAGS),
    ("personalize", "DescribeEventTracker"): _honoured("eventTrackerArn"),
    ("personalize", "ListEventTrackers"): _honoured("datasetGroupArn", *LIST),
    ("personalize", "DeleteEventTracker"): _honoured("eventTrackerArn"),
    ("personalize", "DescribeRecipe"): _honoured("recipeArn"),
    # `domain` lists the domain recipes: there are none here, so the answer is empty, as
    # it is for a domain without recipes.
    ("personalize", "ListRecipes"): _honoured("recipeProvider", "domain", *LIST),
    ("personalize", "CreateBatchInferenceJob"): _honoured(
        "jobName",
        "solutionVersionArn",
        "filterArn",
        "numResults",
        "roleArn",  # stored and returned; the engine reads and writes with its own credentials
        "batchInferenceJobConfig",
        *BATCH_LOCATIONS,
        batchInferenceJobMode=DefaultOnly(
            "BATCH_INFERENCE", "there is no theme generation (no generative model)"
        ),
        themeGenerationConfig=Refused(
            "is not supported by this engine: there is no theme generation (no generative model)."
        ),
        tags=TAGS,
        **BATCH_KMS,
        **{
            "batchInferenceJobConfig.itemExplorationConfig": Refused(
                "is not supported by this engine: its recipes do no item exploration."
            ),
            "batchInferenceJobConfig.rankingInfluence": Refused(
                "is not supported by this engine: rankings are not re-weighted by popularity "
                "or freshness."
            ),
        },
    ),
    ("personalize", "DescribeBatchInferenceJob"): _honoured("batchInferenceJobArn"),
    ("personalize", "ListBatchInferenceJobs"): _honoured("solutionVersionArn", *LIST),
    ("personalize", "CreateBatchSegmentJob"): _honoured(
        "jobName",
        "solutionVersionArn",
        "numResults",
        "roleArn",  # stored and returned, as for batch inference
        *BATCH_LOCATIONS,
        filterArn=Refused(
            "is not supported by this engine: segment filters select users (UserID filters), "
            "which its filters do not support."
        ),
        tags=TAGS,
        **BATCH_KMS,
    ),
    ("personalize", "DescribeBatchSegmentJob"): _honoured("batchSegmentJobArn"),
    ("personalize", "ListBatchSegmentJobs"): _honoured("solutionVersionArn", *LIST),
    ("personalize-runtime", "GetRecommendations"): _honoured(
        "campaignArn",
        "itemId",
        "userId",
        "numResults",
        "filterArn",
        "filterValues",
        recommenderArn=Refused(
            "is not supported by this engine: recommenders are not supported; pass a campaignArn."
        ),
        context=Refused("is not supported by this engine: its recipes use no context."),
        promotions=Refused("is not supported by this engine."),
        metadataColumns=Refused(
            "is not supported by this engine: recommendations never carry item metadata."
        ),
    ),
    ("personalize-runtime", "GetPersonalizedRanking"): _honoured(
        "campaignArn",
        "inputList",
        "userId",
        "filterArn",
        "filterValues",
        context=Refused("is not supported by this engine: its recipes use no context."),
        metadataColumns=Refused(
            "is not supported by this engine: rankings never carry item metadata."
        ),
    ),
    ("personalize-events", "PutEvents"): _honoured(
        "trackingId",
        "userId",
        "sessionId",  # the user when userId is absent
        "eventList",
        "eventList.eventType",
        "eventList.eventValue",
        "eventList.itemId",
        "eventList.sentAt",
        # An identifier: AWS documents no behaviour for it through the API (it only names
        # the event in exported data, which the engine does not offer).
        "eventList.eventId",
        **{
            "eventList.properties": Refused(
                "is not supported by this engine: event properties are not stored or used "
                "in training."
            ),
            "eventList.recommendationId": Refused(
                "is not supported by this engine: there is no attribution of events to "
                "recommendations."
            ),
            "eventList.impression": Refused(
                "is not supported by this engine: impressions are not stored or used in training."
            ),
            "eventList.metricAttribution": Refused(
                "is not supported by this engine: there are no metric attributions."
            ),
        },
    ),
}


def load() -> None:
    """Read botocore's three models once, at engine start, and check the table against them."""
    for service, operation in COVERAGE:
        if operation not in operations(service):
            raise RuntimeError(f"{service} {operation} is not in the installed botocore.")


def check(*, service: str, operation: str, body: dict[str, Any]) -> None:
    """Validate `body` against botocore's model and refuse every member not honoured.

    Runs before the operation; raises InvalidInput. The caller has already refused bodies
    nested deeper than validate.MAX_DEPTH, so the walk's recursion is bounded.
    """
    walk(
        operations(service)[operation],
        body,
        path="",
        key="",
        rules=COVERAGE[(service, operation)],
    )


def member_paths(node: Any, prefix: str = "") -> list[str]:
    """Every member path of an input shape, dotted through structures and lists."""
    out: list[str] = []
    for name, member in node.members.items():
        path = f"{prefix}{name}"
        out.append(path)
        inner = member.member if member.kind == "list" else member
        if inner is not None and inner.kind == "structure" and inner is not node:
            out.extend(member_paths(inner, f"{path}."))
    return out


def _rule_text(rule: Rule | None) -> str:
    if isinstance(rule, DefaultOnly):
        shown = str(rule.value).lower() if isinstance(rule.value, bool) else rule.value
        return f"only `{shown}` ({rule.why})"
    why = rule.why if isinstance(rule, Refused) else Refused().why
    _, _, reason = why.partition(": ")
    return f"refused ({reason.rstrip('.')})" if reason else "refused"


def table() -> str:
    """docs/personalize-coverage.md: every operation of the installed botocore's models."""
    lines = [
        "# Personalize API coverage",
        "",
        "Generated by `python -m services.engine.wire.coverage > docs/personalize-coverage.md`",
        "from botocore's service models and the engine's table (`services/engine/wire/"
        "coverage.py`); `tests/engine/test_coverage.py` fails when it is out of date.",
        "",
        "An answered operation honours every request member except those listed: a listed",
        'member is refused with `InvalidInputException` naming it ("only `x`": accepted',
        "with that value alone). An operation that is not answered gets",
        "`UnknownOperationException`. Requests are validated against the same models",
        "(required members, types, lengths, ranges, patterns, enums).",
        "",
    ]
    for service in SERVICES:
        ops = operations(service)
        answered = [op for op in ops if (service, op) in COVERAGE]
        lines += [
            f"## {service}",
            "",
            f"{len(answered)} of {len(ops)} operations answered.",
            "",
            "| operation | status | members not honoured |",
            "|---|---|---|",
        ]
        for op in sorted(ops):
            rules = COVERAGE.get((service, op))
            if rules is None:
                lines.append(f"| {op} | refused as unsupported | |")
                continue
            not_honoured = [
                f"`{path}`: {_rule_text(rules.get(path))}"
                for path in member_paths(ops[op])
                if rules.get(path) != HONOURED and _parent_honoured(rules, path)
            ]
            lines.append(f"| {op} | answered | {'; '.join(not_honoured)} |")
        lines.append("")
    return "\n".join(lines)


def _parent_honoured(rules: dict[str, Rule], path: str) -> bool:
    """A refused member's own parts are not listed: refusing it refuses them."""
    parts = path.split(".")
    return all(rules.get(".".join(parts[:i])) == HONOURED for i in range(1, len(parts)))


if __name__ == "__main__":
    sys.stdout.write(table())
