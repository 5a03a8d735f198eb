"""Who runs a background job when several engine replicas share one database.

Every lifecycle task (an import, a training run, a campaign deployment...) runs under a
lease on its resource's ARN: a `lease` row naming the replica that holds it and until
when. A replica claims the lease before it starts the work, renews it every third of
LEASE_SECONDS while the work runs and drops it at the end. A claim is one conditional
UPDATE (taken if free, expired or already ours) or one INSERT (refused by the primary key
if another replica got there first), so of two replicas exactly one runs a job.

A replica that dies stops renewing: once its leases expire, the others' sweep (every
third of LEASE_SECONDS, and at startup) takes its unfinished jobs over and fails or
resumes them as a restart would. A lease held by a process of this host that no longer
exists (a restarted engine) counts as expired at once, so a single engine recovers on
restart without waiting.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.models import Lease


def replica_id() -> str:
    """host:pid:random — unique per process, and tells a process of this host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(owner: str) -> bool:
    """The owner (never this process's own id) is a process of this host that no longer
    runs."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():  # a former process of ours (a container restarted)
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, run by another user
        return False
    return False


@dataclass
class Leases:
    sessionmaker: async_sessionmaker[AsyncSession]
    seconds: float
    owner: str = field(default_factory=replica_id)
    held: set[str] = field(default_factory=set)

    async def claim(self, arn: str) -> bool:
        """Take the lease on `arn` for this replica; False if another replica holds it."""
        now = time.time()
        try:
            async with self.sessionmaker() as session, session.begin():
                current = await session.get(Lease, arn)
                if current is None:
                    # Two replicas inserting at once: the primary key refuses the second.
                    session.add(Lease(arn=arn, owner=self.owner, expires=now + self.seconds))
                else:
                    free = current.expires < now or _dead_here(current.owner)
                    if current.owner != self.owner and not free:
                        return False
                    # Compare-and-set: only if nobody took it since we read it.
                    taken = await session.execute(
                        update(Lease)
                        .where(
                            Lease.arn == arn,
                            Lease.owner == current.owner,
                            Lease.expires == current.expires,
                        )
                        .values(owner=self.owner, expires=now + self.seconds)
                    )
                    if taken.rowcount != 1:  # type: ignore[attr-defined]
                        return False
        except IntegrityError:
            return False
        self.held.add(arn)
        return True

    async def release(self, arn: str) -> None:
        self.held.discard(arn)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                delete(Lease).where(Lease.arn == arn, Lease.owner == self.owner)
            )

    async def abandon(self) -> None:
        """Expire every lease of this replica now (shutdown): its work is left unfinished."""
        self.held.clear()
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Lease).where(Lease.owner == self.owner).values(expires=0.0)
            )

    async def renew(self) -> None:
        if not self.held:
            return
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(Lease)
                .where(Lease.owner == self.owner, Lease.arn.in_(sorted(self.held)))
                .values(expires=time.time() + self.seconds)
            )

    async def orphaned(self, rows: list[tuple[str, float]]) -> set[str]:
        """Of (arn, last update) of unfinished resources not running here, those nobody
        runs: their lease expired, is ours from before, or its holder is dead; with no
        lease, those not updated for a whole lease period (a new one is claimed at once)."""
        if not rows:
            return set()
        now = time.time()
        async with self.sessionmaker() as session:
            leases = {
                arn: (owner, expires)
                for arn, owner, expires in (
                    await session.execute(
                        select(Lease.arn, Lease.owner, Lease.expires).where(
                            Lease.arn.in_([arn for arn, _ in rows])
                        )
                    )
                ).all()
            }
        out = set()
        for arn, updated in rows:
            lease = leases.get(arn)
            if lease is None:
                if updated < now - self.seconds:
                    out.add(arn)
                continue
            owner, expires = lease
            if owner == self.owner or expires < now or _dead_here(owner):
                out.add(arn)
        return out
