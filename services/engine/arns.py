"""ARN construction and the id formats Personalize uses (personalize-api.md section 3)."""

from __future__ import annotations

import secrets
import uuid

from services.common.middleware import new_request_id


class Arns:
    """Builds ARNs for one region and account."""

    def __init__(self, region: str, account: str) -> None:
        self.prefix = f"arn:aws:personalize:{region}:{account}"

    def dataset_group(self, name: str) -> str:
        return f"{self.prefix}:dataset-group/{name}"

    def schema(self, name: str) -> str:
        return f"{self.prefix}:schema/{name}"

    def dataset(self, group_name: str, dataset_type: str) -> str:
        return f"{self.prefix}:dataset/{group_name}/{dataset_type}"

    def import_job(self, name: str) -> str:
        return f"{self.prefix}:dataset-import-job/{name}"

    def solution(self, name: str) -> str:
        return f"{self.prefix}:solution/{name}"

    def solution_version(self, solution_arn: str) -> str:
        return f"{solution_arn}/{secrets.token_hex(4)}"

    def campaign(self, name: str) -> str:
        return f"{self.prefix}:campaign/{name}"

    def filter(self, name: str) -> str:
        return f"{self.prefix}:filter/{name}"

    def batch_inference_job(self, name: str) -> str:
        return f"{self.prefix}:batch-inference-job/{name}"

    def batch_segment_job(self, name: str) -> str:
        return f"{self.prefix}:batch-segment-job/{name}"

    def event_tracker(self) -> str:
        return f"{self.prefix}:event-tracker/{secrets.token_hex(4)}"


def recipe_arn(name: str) -> str:
    return f"arn:aws:personalize:::recipe/{name}"


def dataset_arn_of(group_arn: str, dataset_type: str) -> str:
    """The ARN of a group's dataset of a type (`Arns.dataset`), from the group's ARN."""
    prefix, name = group_arn.split(":dataset-group/", 1)
    return f"{prefix}:dataset/{name}/{dataset_type}"


def dataset_type_of(dataset_arn: str) -> str:
    """INTERACTIONS, ITEMS or USERS: the last segment of a dataset's ARN."""
    return dataset_arn.rsplit("/", 1)[-1]


def name_of(arn: str) -> str:
    """The last path segment of an ARN."""
    return arn.rsplit("/", 1)[-1]


def new_tracking_id() -> str:
    return str(uuid.uuid4())


def new_recommendation_id() -> str:
    # "RID-" + a 36-char UUID-shaped id = 40 chars, the most PutEvents accepts back. Made
    # from the request-id generator (a random prefix and a counter), not uuid4: this runs
    # on every GetRecommendations and needs uniqueness, not unpredictability.
    h = new_request_id()
    return f"RID-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
