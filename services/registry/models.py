"""Registered models: a named Personalize campaign and what it is used for."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import StrictInt, field_validator
from sqlalchemy import CheckConstraint, Column, DateTime, Index, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.common.time import utc_now

NAME_MAX = 64
ARN_MAX = 256
# Postgres INTEGER; a larger value would fail in the database instead of in validation.
SORT_ORDER_MIN = -1_000_000
SORT_ORDER_MAX = 1_000_000

# The pattern Personalize applies to every ARN, then the campaign shape in particular.
PERSONALIZE_ARN = re.compile(r"arn:([a-z\d-]+):personalize:.*:.*:.+")
CAMPAIGN_ARN = re.compile(
    r"arn:[a-z\d-]+:personalize:[a-z\d-]*:\d*:campaign/[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}"
)
# Database ids are 32-bit integers; a bigger path id must be a 404, not a driver error.
ID_MAX = 2_147_483_647
# SHA-256, hex: the length of `name_key` and of an admin session's key.
KEY_LENGTH = 64

# Characters that reorder or hide text, so one name can pass for another on screen.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Control, format, surrogate, and line/paragraph separator categories.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class ModelType(StrEnum):
    recommendations = "recommendations"
    ranking = "ranking"
    similar_items = "similar-items"


# The order in which model lists show the types (the lab's front page order).
TYPE_ORDER = {ModelType.recommendations: 0, ModelType.ranking: 1, ModelType.similar_items: 2}


def _code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def clean_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    for ch in value:
        if ch in BIDI_CONTROLS:
            raise ValueError(
                f"must not contain bidirectional control characters (found {_code_point(ch)})"
            )
        if ch in ZERO_WIDTH:
            raise ValueError(f"must not contain zero-width characters (found {_code_point(ch)})")
        if unicodedata.category(ch) == "Cc":
            raise ValueError(f"must not contain control characters (found {_code_point(ch)})")
        if unicodedata.category(ch) in INVISIBLE_CATEGORIES:
            raise ValueError(
                f"must not contain invisible format characters (found {_code_point(ch)})"
            )
    if len(value) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters (got {len(value)})")
    return value


def name_key(name: str) -> str:
    """What two names must not share: "Foo", "FOO" and "ｆｏｏ" are one name to a reader.

    NFKC folds width and compatibility forms, casefold folds case; hashed (SHA-256, hex)
    so the unique column has a fixed width whatever the folding expands to.
    """
    folded = unicodedata.normalize("NFKC", name).casefold()
    return hashlib.sha256(folded.encode()).hexdigest()


def clean_campaign_arn(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if len(value) > ARN_MAX:
        raise ValueError(f"must be at most {ARN_MAX} characters (got {len(value)})")
    if not PERSONALIZE_ARN.fullmatch(value):
        raise ValueError(
            "is not an Amazon Personalize ARN "
            "(expected arn:aws:personalize:<region>:<account>:campaign/<name>)"
        )
    if not CAMPAIGN_ARN.fullmatch(value):
        resource = value.split(":", 5)[-1].split("/", 1)[0] or "unknown"
        raise ValueError(
            f"must be a campaign ARN (arn:aws:personalize:<region>:<account>:campaign/<name>), "
            f"not a '{resource}' ARN"
        )
    return value


# Shared fields of every model shape; limits sit here.
class ModelBase(SQLModel):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    campaign_arn: str = Field(min_length=1, max_length=ARN_MAX)
    type: ModelType
    sort_order: StrictInt = Field(default=0, ge=SORT_ORDER_MIN, le=SORT_ORDER_MAX)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        return clean_name(value) if isinstance(value, str) else value

    @field_validator("campaign_arn", mode="before")
    @classmethod
    def _arn(cls, value: object) -> object:
        return clean_campaign_arn(value) if isinstance(value, str) else value


# Body of POST /models.
class ModelCreate(ModelBase):
    pass


# Body of PATCH /models/{id}: any subset of the fields.
class ModelUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=NAME_MAX)
    campaign_arn: str | None = Field(default=None, min_length=1, max_length=ARN_MAX)
    type: ModelType | None = None
    sort_order: StrictInt | None = Field(default=None, ge=SORT_ORDER_MIN, le=SORT_ORDER_MAX)

    @field_validator("name", "campaign_arn", "type", "sort_order", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Every field is required on the row: leave a field out to keep it, never null it.
        if value is None:
            raise ValueError("must not be null (leave the field out to keep its value)")
        return value

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        return clean_name(value) if isinstance(value, str) else value

    @field_validator("campaign_arn", mode="before")
    @classmethod
    def _arn(cls, value: object) -> object:
        return clean_campaign_arn(value) if isinstance(value, str) else value


# The database row.
class Model(SQLModel, table=True):
    __tablename__ = "registered_model"
    __table_args__ = (
        # The database refuses look-alike names even when two writes race.
        UniqueConstraint("name_key", name="uq_registered_model_name_key"),
        # A plain string column with a check (not a database enum) keeps migrations portable.
        CheckConstraint(
            "type IN ('recommendations', 'ranking', 'similar-items')",
            name="ck_registered_model_type",
        ),
        Index("ix_registered_model_type", "type"),
        # SQLite AUTOINCREMENT: a deleted model's id is never handed to a new one (a client
        # holding the old id must get a 404, not someone else's model). PostgreSQL's
        # sequence already never goes back.
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(NAME_MAX), nullable=False))
    # name_key(name): set by the data functions whenever the name is.
    name_key: str = Field(sa_column=Column(String(KEY_LENGTH), nullable=False))
    campaign_arn: str = Field(sa_column=Column(String(ARN_MAX), nullable=False))
    type: str = Field(sa_column=Column(String(16), nullable=False))
    sort_order: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


# A signed-in admin session (services.common.admin_sessions): in the database so a
# sign-out holds across restarts and every replica. Deleted on sign-out; expired rows are
# ignored, and swept whenever someone signs in.
class AdminSessionRow(SQLModel, table=True):
    __tablename__ = "admin_session"

    # The SHA-256 of the cookie's session id, never the id itself.
    key: str = Field(sa_column=Column(String(KEY_LENGTH), primary_key=True))
    username: str = Field(sa_column=Column(String(256), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )


# What the API answers for one model; `recipe` comes from Personalize, not the table.
class ModelPublic(SQLModel):
    id: int
    name: str
    campaign_arn: str
    type: ModelType
    sort_order: int
    recipe: str | None = None
    created_at: datetime
    updated_at: datetime

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # SQLite hands back naive datetimes; every stored value is UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)


# What GET /models answers.
class ModelsPublic(SQLModel):
    data: list[ModelPublic]
    count: int
