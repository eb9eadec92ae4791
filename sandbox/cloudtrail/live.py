"""The live generator: consumers keep reading what they may read while the demo runs.

Each round (a ``POST /_sandbox/cloudtrail/tick`` or one turn of the service's loop) plays a
few minutes of the organisation: pipelines and people of consumer accounts read the groups
they were granted (GetRecord / BatchGetRecord), sometimes describe them, read-write grantees
write, owners ingest; now and then someone tries a group they were not granted and is denied.
It keeps the history's story intact: the dormant grant stays unused and the read-write grant
that is only used for reads is never written through.

Grants are read from the sandbox's access state every round, so a share created during the demo
(through Pantry and RAM) is used within a round or two, and a revoked one is not: its consumer's
pipeline keeps trying for a while and is denied.
"""

from __future__ import annotations

import datetime as dt
import random

from . import records as R
from .model import Grant, OrgModel


class LiveGenerator:
    def __init__(self, model: OrgModel, seed: int = 20240611) -> None:
        self.model = model
        self.rng = random.Random(f"{seed}:live")
        story = model.story()
        self.dormant, self.read_only_rw = story["dormant"], story["read_only_in_practice"]
        self.seeded = [g for g in model.grants if g.consumer in model.accounts]
        self.grants = [g for g in self.seeded if g != self.dormant]
        self.revoked: list[Grant] = []
        self.rounds = 0

    def refresh(self) -> None:
        """Follow the sandbox's current grants (RAM shares made or revoked since the seed)."""
        from .. import state

        try:
            current = state.snapshot()["feature_group_access"]
        except Exception:  # noqa: BLE001 -- no access state: keep the manifest's grants
            return
        if not current:
            return
        grants = []
        for arn, consumers in sorted(current.items()):
            group = self.model.group_by_arn.get(arn)
            for consumer, permission in sorted(consumers.items()):
                if group is not None and consumer in self.model.accounts:
                    grants.append(Grant(group, consumer, permission))
        keys = {(g.group.arn, g.consumer) for g in grants}
        self.revoked = [g for g in self.seeded if (g.group.arn, g.consumer) not in keys]
        dormant = (self.dormant.group.arn, self.dormant.consumer) if self.dormant else None
        self.grants = [g for g in grants if (g.group.arn, g.consumer) != dormant]

    def calls(self, since: dt.datetime, now: dt.datetime) -> list[tuple[str, R.Call]]:
        """A round of activity with event times in ``(since, now]``."""
        rng = self.rng
        self.rounds += 1
        span = max(1.0, (now - since).total_seconds())
        out: list[tuple[str, R.Call]] = []

        def at() -> dt.datetime:
            return (now - dt.timedelta(seconds=rng.random() * span)).replace(microsecond=0)

        self.refresh()
        if self.revoked and rng.random() < 0.3:
            grant = rng.choice(self.revoked)
            pipeline = self.model.accounts[grant.consumer].pipeline
            if pipeline:
                error = R.access_denied(pipeline, "sagemaker:GetRecord", grant.group.arn)
                out.append(
                    ("denied", R.feature_store_data_call(at(), pipeline, "GetRecord", [grant.group], error=error))
                )
        if not self.grants:
            return out
        for _ in range(rng.randint(3, 8)):
            grant = rng.choice(self.grants)
            consumer = self.model.accounts[grant.consumer]
            who = rng.choice([p for p in (consumer.pipeline, consumer.pipeline, *consumer.humans[:2]) if p])
            operation = "BatchGetRecord" if rng.random() < 0.25 else "GetRecord"
            out.append(("read", R.feature_store_data_call(at(), who, operation, [grant.group], version="1.11")))
        if rng.random() < 0.4:
            grant = rng.choice(self.grants)
            human = self.model.accounts[grant.consumer].humans[0]
            out.append(("metadata", R.describe_feature_group(at(), human, grant.group, version="1.11")))
        read_only_rw = (self.read_only_rw.group.arn, self.read_only_rw.consumer) if self.read_only_rw else None
        writers = [g for g in self.grants if g.can_write and (g.group.arn, g.consumer) != read_only_rw]
        if writers and rng.random() < 0.3:
            grant = rng.choice(writers)
            pipeline = self.model.accounts[grant.consumer].pipeline
            if pipeline:
                out.append(
                    ("write", R.feature_store_data_call(at(), pipeline, "PutRecord", [grant.group], version="1.11"))
                )
        owners = [a for a in self.model.accounts.values() if a.owns_groups and a.ingestion]
        if owners:
            owner = rng.choice(owners)
            groups = [g for g in self.model.groups if g.account_id == owner.account_id]
            if groups:
                group = rng.choice(groups[:4])
                out.append(
                    ("owner", R.feature_store_data_call(at(), owner.ingestion, "PutRecord", [group], version="1.11"))
                )
        if rng.random() < 0.12:
            curious = [
                a
                for a in self.model.accounts.values()
                if a.humans and self.model.ungranted_visible_groups(a.account_id)
            ]
            if curious:
                account = rng.choice(curious)
                group = rng.choice(self.model.ungranted_visible_groups(account.account_id))
                human = rng.choice(account.humans)
                error = R.access_denied(human, "sagemaker:GetRecord", group.arn)
                out.append(("denied", R.feature_store_data_call(at(), human, "GetRecord", [group], error=error)))
        return out
