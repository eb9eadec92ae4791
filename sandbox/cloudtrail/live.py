"""The live generator: consumers keep reading what they may read while the demo runs.

Each round (a ``POST /_sandbox/cloudtrail/tick`` or one turn of the service's loop) plays a
few minutes of the organisation: pipelines and people of consumer accounts read the groups
they were granted (GetRecord / BatchGetRecord), sometimes describe them, read-write grantees
write, owners ingest; now and then someone tries a group they were not granted and is denied.
It keeps the history's story intact: the dormant grant stays unused and the read-write grant
that is only used for reads is never written through.
"""

from __future__ import annotations

import datetime as dt
import random

from . import records as R
from .model import OrgModel


class LiveGenerator:
    def __init__(self, model: OrgModel, seed: int = 20240611) -> None:
        self.model = model
        self.rng = random.Random(f"{seed}:live")
        story = model.story()
        self.dormant, self.read_only_rw = story["dormant"], story["read_only_in_practice"]
        self.grants = [g for g in model.grants if g != self.dormant and g.consumer in model.accounts]
        self.rounds = 0

    def calls(self, since: dt.datetime, now: dt.datetime) -> list[tuple[str, R.Call]]:
        """A round of activity with event times in ``(since, now]``."""
        rng = self.rng
        self.rounds += 1
        span = max(1.0, (now - since).total_seconds())
        out: list[tuple[str, R.Call]] = []

        def at() -> dt.datetime:
            return (now - dt.timedelta(seconds=rng.random() * span)).replace(microsecond=0)

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
        writers = [g for g in self.grants if g.can_write and g != self.read_only_rw]
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
