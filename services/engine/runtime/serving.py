"""What the runtime reads on every request, kept in memory: no per-request DB query.

- campaign ARN -> Deployment (model + group data), swapped in one assignment on
  UpdateCampaign so serving never has a gap;
- dataset group ARN -> GroupData (histories, item and user metadata), followed by the
  event feed (PutEvents rows stored through any replica);
- filter ARN -> parsed filter; tracking id -> dataset group ARN.
Misses (e.g. right after a restart) fall back to the database once, under a lock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.artifacts import ArtifactStore
from services.engine.models import Campaign, EventTracker, Filter, Solution, SolutionVersion
from services.engine.recipes import load_model
from services.engine.runtime.deployment import Deployment
from services.engine.runtime.event_feed import EventFeed
from services.engine.runtime.filter_parser import ParsedFilter, parse_filter
from services.engine.runtime.histories import GroupData, load_group
from services.engine.wire.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeployedFilter:
    arn: str
    dataset_group_arn: str
    parsed: ParsedFilter


class Serving:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        artifacts: ArtifactStore,
        *,
        score_cache_bytes: int = 0,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.artifacts = artifacts
        self.score_cache_bytes = score_cache_bytes
        self.deployments: dict[str, Deployment] = {}
        self.groups: dict[str, GroupData] = {}
        self.feed = EventFeed(sessionmaker, self.groups)
        self.filters: dict[str, DeployedFilter] = {}
        self.trackers: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def group(self, arn: str) -> GroupData:
        group = self.groups.get(arn)
        if group is not None:
            return group
        async with self._lock(arn):
            group = self.groups.get(arn)
            if group is None:
                group = await load_group(self.sessionmaker, self.artifacts, arn)
                await self.feed.adopt(group)
                self.groups[arn] = group  # no await since adopt: no feed pass in between
        return group

    async def reload_group(self, arn: str) -> None:
        """After an import: rebuild the group's data and rebind its deployments."""
        if arn not in self.groups:
            return
        async with self._lock(arn):
            group = await load_group(self.sessionmaker, self.artifacts, arn)
            await self.feed.adopt(group)
            self.groups[arn] = group  # no await since adopt: no feed pass in between
            for campaign_arn, dep in list(self.deployments.items()):
                if dep.group.arn == arn:
                    self.deployments[campaign_arn] = Deployment(
                        dep.campaign_arn, dep.solution_version_arn, dep.model, group
                    )

    async def load_deployment(self, campaign_arn: str, version_arn: str) -> Deployment:
        """Load a solution version's model for a campaign (does not publish it)."""
        async with self.sessionmaker() as session:
            version = await session.get(SolutionVersion, version_arn)
            if version is None or version.artifact_key is None:
                raise RuntimeError(f"solution version {version_arn} has no model")
            solution = await session.get(Solution, version.solution_arn)
            assert solution is not None
        directory = await self.artifacts.fetch(version.artifact_key)
        model = await asyncio.to_thread(load_model, directory)
        model.enable_memo(self.score_cache_bytes)
        group = await self.group(solution.dataset_group_arn)
        return Deployment(campaign_arn, version_arn, model, group)

    def score_cache_stats(self) -> list[tuple[str, tuple[int, int, int]]]:
        """Per campaign: (hits, misses, bytes) of its model's score cache."""
        return [(arn, dep.model.memo_stats()) for arn, dep in list(self.deployments.items())]

    async def deploy(self, campaign_arn: str, version_arn: str) -> Deployment:
        dep = await self.load_deployment(campaign_arn, version_arn)
        self.deployments[campaign_arn] = dep  # one assignment: the switch has no gap
        return dep

    def undeploy(self, campaign_arn: str) -> None:
        self.deployments.pop(campaign_arn, None)

    async def deployment(self, campaign_arn: str) -> Deployment:
        """The hot path: a dict lookup; after a restart, a lazy load from artifacts."""
        dep = self.deployments.get(campaign_arn)
        if dep is not None:
            return dep
        async with self._lock(campaign_arn):
            dep = self.deployments.get(campaign_arn)
            if dep is not None:
                return dep
            async with self.sessionmaker() as session:
                campaign = await session.get(Campaign, campaign_arn)
            if campaign is None or campaign.status.startswith("DELETE"):
                raise NotFound.arn(campaign_arn, status_code=404)
            if campaign.status != "ACTIVE":
                raise NotFound(
                    f"Campaign {campaign_arn} is not ACTIVE (status: {campaign.status}).",
                    status_code=404,
                )
            return await self.deploy(campaign_arn, campaign.solution_version_arn)

    async def filter(self, filter_arn: str) -> DeployedFilter:
        deployed = self.filters.get(filter_arn)
        if deployed is not None:
            return deployed
        async with self.sessionmaker() as session:
            row = await session.get(Filter, filter_arn)
        if row is None or row.status.startswith("DELETE"):
            raise NotFound.arn(filter_arn, status_code=404)
        if row.status != "ACTIVE":
            raise InvalidInput(f"Filter {filter_arn} is not ACTIVE (status: {row.status}).")
        deployed = DeployedFilter(row.arn, row.dataset_group_arn, parse_filter(row.expression))
        self.filters[filter_arn] = deployed
        return deployed

    async def tracker_group(self, tracking_id: str) -> str | None:
        group = self.trackers.get(tracking_id)
        if group is not None:
            return group
        async with self.sessionmaker() as session:
            row = (
                await session.execute(
                    select(EventTracker).where(EventTracker.tracking_id == tracking_id)
                )
            ).scalar_one_or_none()
        if row is None or row.status != "ACTIVE":
            return None
        self.trackers[tracking_id] = row.dataset_group_arn
        return row.dataset_group_arn
