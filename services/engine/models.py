"""The engine's metadata tables (SQLModel).

Every Personalize resource is one row keyed by its ARN, with the status lifecycle
fields all resources share. Timestamps are epoch seconds (floats), which is what the
wire carries. Structured inputs (solutionConfig, campaignConfig, metrics...) are
stored as JSON text: the engine only ever reads them whole.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field, SQLModel


class ResourceBase(SQLModel):
    """Fields every Personalize resource has."""

    arn: str = Field(primary_key=True, max_length=256)
    name: str = Field(max_length=63, index=True)
    status: str = Field(default="CREATE PENDING", max_length=32)
    failure_reason: str | None = Field(default=None, sa_type=Text)
    created: float
    updated: float


class DatasetGroup(ResourceBase, table=True):
    __tablename__ = "dataset_group"
    role_arn: str | None = None
    kms_key_arn: str | None = None
    domain: str | None = None


class Schema(ResourceBase, table=True):
    __tablename__ = "dataset_schema"
    definition: str = Field(sa_type=Text)
    domain: str | None = None


class Dataset(ResourceBase, table=True):
    __tablename__ = "dataset"
    dataset_group_arn: str = Field(index=True, max_length=256)
    dataset_type: str = Field(max_length=32)
    schema_arn: str = Field(max_length=256)


class DatasetImportJob(ResourceBase, table=True):
    __tablename__ = "dataset_import_job"
    dataset_arn: str = Field(index=True, max_length=256)
    data_location: str = Field(max_length=256)
    role_arn: str | None = None
    import_mode: str = "FULL"
    publish_attribution: bool = False


class Solution(ResourceBase, table=True):
    __tablename__ = "solution"
    dataset_group_arn: str = Field(index=True, max_length=256)
    recipe_arn: str | None = None
    perform_hpo: bool = False
    perform_automl: bool = False
    perform_auto_training: bool = False
    perform_incremental_update: bool = False
    event_type: str | None = None
    solution_config: str = Field(default="{}", sa_type=Text)


class SolutionVersion(ResourceBase, table=True):
    __tablename__ = "solution_version"
    solution_arn: str = Field(index=True, max_length=256)
    training_mode: str = "FULL"
    training_hours: float | None = None
    metrics: str | None = Field(default=None, sa_type=Text)
    tuned_hyperparameters: str | None = Field(default=None, sa_type=Text)
    # Key of the model in the artifact store, set once training succeeded.
    artifact_key: str | None = None


class Campaign(ResourceBase, table=True):
    __tablename__ = "campaign"
    solution_version_arn: str = Field(index=True, max_length=256)
    min_provisioned_tps: int = 1
    campaign_config: str = Field(default="{}", sa_type=Text)
    # latestCampaignUpdate as JSON, when UpdateCampaign was called.
    latest_update: str | None = Field(default=None, sa_type=Text)


class Filter(ResourceBase, table=True):
    __tablename__ = "filter"
    dataset_group_arn: str = Field(index=True, max_length=256)
    expression: str = Field(sa_type=Text)


class EventTracker(ResourceBase, table=True):
    __tablename__ = "event_tracker"
    dataset_group_arn: str = Field(index=True, max_length=256)
    tracking_id: str = Field(unique=True, max_length=64)
    account_id: str


class Interaction(SQLModel, table=True):
    """One row of a dataset group's Interactions dataset (imported or from PutEvents)."""

    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_group_ts", "dataset_group_arn", "timestamp"),
        # Ids are never reused (the event feed follows the table by id): migration 0004.
        {"sqlite_autoincrement": True},
    )
    id: int | None = Field(default=None, primary_key=True)
    dataset_group_arn: str = Field(max_length=256)
    user_id: str = Field(max_length=256)
    item_id: str = Field(max_length=256)
    timestamp: int = Field(sa_type=BigInteger)
    event_type: str | None = Field(default=None, max_length=256)
    event_value: float | None = None
    # PutEvents rows survive a FULL re-import, like on AWS.
    from_events: bool = False


class ItemRecord(SQLModel, table=True):
    """One row of an Items dataset; attributes as JSON text."""

    __tablename__ = "item_record"
    dataset_group_arn: str = Field(primary_key=True, max_length=256)
    item_id: str = Field(primary_key=True, max_length=256)
    attributes: str = Field(sa_type=Text)


class UserRecord(SQLModel, table=True):
    """One row of a Users dataset; attributes as JSON text."""

    __tablename__ = "user_record"
    dataset_group_arn: str = Field(primary_key=True, max_length=256)
    user_id: str = Field(primary_key=True, max_length=256)
    attributes: str = Field(sa_type=Text)


class DatasetFiles(SQLModel, table=True):
    """One import's rows of a dataset, as Parquet files in the artifact store.

    A dataset's imported rows are the union of its file sets, oldest first: a FULL import
    replaces them with its own set in one transaction, an INCREMENTAL one adds a set.
    Only this metadata lives in the database (services/engine/dataset_files.py).
    """

    __tablename__ = "dataset_files"
    key: str = Field(primary_key=True, max_length=512)  # the artifact key of the set
    dataset_arn: str = Field(index=True, max_length=256)
    dataset_group_arn: str = Field(index=True, max_length=256)
    job_arn: str = Field(max_length=256)
    rows: int = Field(sa_type=BigInteger)
    files: str = Field(sa_type=Text)  # JSON list of the Parquet file names
    created: float


class Lease(SQLModel, table=True):
    """Which engine replica runs the background work of a resource, and until when
    (services/engine/leases.py)."""

    __tablename__ = "lease"
    arn: str = Field(primary_key=True, max_length=256)
    owner: str = Field(max_length=256)
    expires: float


class BatchInferenceJob(ResourceBase, table=True):
    """CreateBatchInferenceJob: JSON lines in, one JSON line of recommendations out per line."""

    __tablename__ = "batch_inference_job"
    solution_version_arn: str = Field(index=True, max_length=256)
    filter_arn: str | None = Field(default=None, max_length=256)
    num_results: int = 25
    input_path: str = Field(max_length=256)
    output_path: str = Field(max_length=256)
    role_arn: str | None = Field(default=None, max_length=256)
    # batchInferenceJobConfig as JSON (only its empty form is accepted: coverage.py).
    job_config: str | None = Field(default=None, sa_type=Text)


class BatchSegmentJob(ResourceBase, table=True):
    """CreateBatchSegmentJob: item (or item attribute) lines in, the users most likely to
    interact with them out."""

    __tablename__ = "batch_segment_job"
    solution_version_arn: str = Field(index=True, max_length=256)
    num_results: int = 25
    input_path: str = Field(max_length=256)
    output_path: str = Field(max_length=256)
    role_arn: str | None = Field(default=None, max_length=256)
