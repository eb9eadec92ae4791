"""The demo organisation's CloudTrail history: N days (default 60) up to "now".

Deterministic: every activity draws from its own ``random.Random`` seeded with the history
seed and the activity's name, so the same manifest, ``now`` and seed give the same calls,
event ids and files (the digest signatures differ: the signing key is per process).

What happens in it (see :mod:`.model` for who the principals are):

* consumers read the groups they were granted (GetRecord / BatchGetRecord), a few heavily
  (scoring services, nightly training), most lightly (people in notebooks), with a weekday /
  weekend and hour-of-day rhythm; read-write and admin grantees also write (PutRecord,
  DeleteRecord), admins edit feature metadata -- except the *read-only-in-practice* grant;
* the *dormant* grant is used in the first weeks and then not for 38 days;
* consumers look around: Search (cross-account), DescribeFeatureGroup, DescribeFeatureMetadata;
* denied calls: consumers trying groups they can find but were not granted, a read-only
  grantee's pipeline trying to write; every message names the caller's ARN;
* owners run their own ingestion (PutRecord) and edit descriptions;
* Pantry's reader role syncs every owner account hourly (Search, lineage every 6 hours) and
  polls RAM invitations in consumer accounts; each session starts with an AssumeRole that
  the role's account logs;
* grants created inside the window show their ``CreateResourceShare``;
* noise an ingester must skip: SageMaker assuming the offline-store role, KMS, Glue, S3, Logs.

Delivery is CloudTrail's: each record reaches the trails that cover its recipient account and
region and whose selectors accept it, in ~5-minute files stamped with the delivery time;
about 0.6% of records arrive 15-95 minutes late (in a later hour's or day's file), 0.15% are
delivered twice (same ``eventID``), and records in a file are not in time order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import records as R
from .delivery import DigestChain, LogFile, MotoSink, Trail, load_trails, route, write_log_file
from .model import Account, Grant, OrgModel

DAY = dt.timedelta(days=1)
SLOT = dt.timedelta(minutes=5)
DORMANT_DAYS = 38
PANTRY_DAYS = 14  # Pantry was rolled out two weeks before "now"; the trails are older
BURST_HOURS = 3
HUMAN_SESSIONS = 3  # working sessions per account and weekday
GZIP_LEVEL = 4  # history files: fast to write, still ~10x smaller than the JSON
LATE_SHARE = 0.006
DUPLICATE_SHARE = 0.0015

# Hour-of-day weights (UTC) for people, services and nightly batch jobs.
HUMAN_HOURS = [1, 1, 1, 1, 1, 2, 4, 10, 22, 30, 32, 30, 20, 26, 30, 30, 26, 16, 8, 4, 2, 1, 1, 1]
SERVICE_HOURS = [6, 5, 5, 5, 5, 6, 8, 11, 14, 15, 16, 16, 16, 16, 16, 16, 16, 15, 14, 13, 12, 10, 8, 7]
BATCH_HOURS = [4, 18, 26, 18, 6, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3]
WEEKEND = {"human": 0.08, "service": 0.7, "batch": 1.0}


def _cum(weights: list[int]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


_CUM = {"human": _cum(HUMAN_HOURS), "service": _cum(SERVICE_HOURS), "batch": _cum(BATCH_HOURS)}


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


@dataclass
class Activity:
    """Calls of one kind at one daily rate, spread by a rhythm over the active period."""

    name: str
    kind: str  # read | write | metadata | discovery | denied | owner | pantry | ram | noise
    rhythm: str  # human | service | batch
    per_day: float
    make: Callable[[random.Random, dt.datetime], R.Call | None]
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    anchor: str = ""  # the account whose scheduler runs it (services and batch jobs run in bursts)


@dataclass
class History:
    calls: list[tuple[str, R.Call]] = field(default_factory=list)
    story: dict[str, Any] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)


def _minute(key: str) -> int:
    """The minute an account's scheduled jobs start: the org's orchestrator fires at :05, and
    each account's jobs get going within a few minutes of it."""
    return 5 + int(hashlib.sha256(key.encode()).hexdigest()[:6], 16) % 3


def _version(rng: random.Random, data: bool) -> str:
    return rng.choice(("1.09", "1.10", "1.11") if data else ("1.08", "1.08", "1.09", "1.10", "1.11"))


class HistoryBuilder:
    def __init__(self, model: OrgModel, now: dt.datetime, days: int = 60, seed: int = 20240611) -> None:
        self.model = model
        self.now = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
        self.start = self.now - days * DAY
        self.days = days
        self.seed = seed
        self.activities: list[Activity] = []
        self.history = History()
        self.anchor = ""  # the account whose activities are being added
        self._session_cache: dict[tuple[str, dt.datetime], list[dt.timedelta]] = {}

    def rng(self, *name: str) -> random.Random:
        return random.Random(f"{self.seed}:{':'.join(name)}")

    # ------------------------------------------------------------------ building

    def build(self) -> History:
        story = self.model.story()
        self.dormant, self.read_only_rw = story["dormant"], story["read_only_in_practice"]
        self.history.story = {
            "dormant_grant": self.dormant.as_dict() if self.dormant else None,
            "dormant_last_use_before": (self.now - DORMANT_DAYS * DAY).isoformat(),
            "read_write_grant_used_only_for_reads": self.read_only_rw.as_dict() if self.read_only_rw else None,
            "denied": [],
        }
        self._grants()
        self._exploration()
        self._denials()
        self._owners()
        self._pantry()
        self._noise()
        for activity in self.activities:
            self._run(activity)
        self.history.calls.sort(key=lambda item: item[1].when)
        return self.history

    def _run(self, activity: Activity) -> None:
        rng = self.rng("activity", activity.name)
        begin = max(self.start, activity.start or self.start)
        end = min(self.now, activity.end or self.now)
        day = self.start
        while day < end:
            weekend = day.weekday() >= 5
            factor = WEEKEND[activity.rhythm] if weekend else 1.0
            for _ in range(poisson(rng, activity.per_day * factor)):
                if activity.rhythm == "human":
                    # People work in sessions: an account's people are active a few times a day.
                    sessions = self._sessions(activity.anchor, day, weekend)
                    if not sessions:
                        continue
                    offset = rng.choice(sessions) + dt.timedelta(seconds=rng.randrange(240))
                else:
                    # Services and batch jobs run when the organisation's scheduler fires (every
                    # two hours, a few minutes past), each run a burst of calls.
                    hour = rng.choices(range(24), cum_weights=_CUM[activity.rhythm])[0]
                    hour -= hour % BURST_HOURS if activity.rhythm == "service" else 0
                    offset = dt.timedelta(hours=hour, minutes=_minute(activity.anchor), seconds=rng.randrange(120))
                when = day + offset
                if not begin <= when < end:
                    continue
                call = activity.make(rng, when)
                if call is not None:
                    self.history.calls.append((activity.kind, call))
                    self.history.counts[activity.kind] += 1
            day += DAY

    def _sessions(self, account: str, day: dt.datetime, weekend: bool) -> list[dt.timedelta]:
        key = (account, day)
        if key not in self._session_cache:
            rng = self.rng("sessions", account, day.date().isoformat())
            count = (1 if rng.random() < 0.3 else 0) if weekend else HUMAN_SESSIONS
            self._session_cache[key] = [
                dt.timedelta(hours=rng.choices(range(24), cum_weights=_CUM["human"])[0], minutes=rng.randrange(56))
                for _ in range(count)
            ]
        return self._session_cache[key]

    def add(self, kind: str, name: str, rhythm: str, per_day: float, make, start=None, end=None, anchor="") -> None:
        self.activities.append(Activity(name, kind, rhythm, per_day, make, start, end, anchor or self.anchor or name))

    def once(self, kind: str, call: R.Call) -> None:
        if self.start <= call.when < self.now:
            self.history.calls.append((kind, call))
            self.history.counts[kind] += 1

    # ------------------------------------------------------------------ consumers with grants

    def _grant_created(self, grant: Grant) -> dt.datetime:
        if grant == self.dormant:
            return self.now - 58 * DAY + dt.timedelta(hours=10, minutes=12)
        rng = self.rng("grant-created", grant.group.arn, grant.consumer)
        days = rng.choice([75, 90, 120, 50, 27])  # two in five were shared inside the window
        return (self.now - days * DAY).replace(hour=9) + dt.timedelta(minutes=rng.randrange(480))

    def _grants(self) -> None:
        model = self.model
        others = [g for g in self.model.grants if g not in (self.dormant, self.read_only_rw)]
        tiers = {}
        shuffled = list(others)
        self.rng("tiers").shuffle(shuffled)
        for index, grant in enumerate(shuffled):
            tiers[grant] = "heavy" if index < 2 else "medium" if index < 5 else "light"
        if self.dormant:
            tiers[self.dormant] = "medium"
        if self.read_only_rw:
            tiers[self.read_only_rw] = "medium"
        # A share holds every group of one owner, Region, consumer and level: it is created with
        # the first of them and the others are added to it later.
        self._share_first: dict[str, dt.datetime] = {}
        for grant in self.model.grants:
            arn = grant.share_arn or self.model.shares.get((grant.group.arn, grant.consumer), {}).get("share_arn")
            if arn:
                when = self._grant_created(grant)
                self._share_first[arn] = min(when, self._share_first.get(arn, when))
        for grant in self.model.grants:
            consumer = model.accounts.get(grant.consumer)
            owner = model.accounts.get(grant.group.account_id)
            if consumer is None:
                continue
            created = self._grant_created(grant)
            self.anchor = grant.consumer
            self._share_events(grant, created, owner, consumer)
            start = created + dt.timedelta(hours=3)
            end = self.now - DORMANT_DAYS * DAY - dt.timedelta(hours=5) if grant == self.dormant else None
            tier = tiers[grant]
            tag = f"{grant.group.arn}>{grant.consumer}"
            pipeline, humans, training = consumer.pipeline, consumer.humans, consumer.training
            same_owner = [
                g.group
                for g in model.grants
                if g.consumer == grant.consumer
                and g.group.account_id == grant.group.account_id
                and g.group.region == grant.group.region
                and g.group.arn != grant.group.arn
                and g not in (self.dormant,)
            ]
            rates = {"heavy": (180, 40, 22, 4), "medium": (24, 6, 3, 3), "light": (0, 1, 0, 4)}[tier]
            get_rate, batch_rate, nightly_rate, human_rate = rates
            if pipeline and get_rate:
                self.add(
                    "read",
                    f"get:{tag}",
                    "service",
                    get_rate,
                    self._data(pipeline, "GetRecord", [grant.group]),
                    start,
                    end,
                )
            if pipeline and batch_rate:
                groups = [grant.group] + same_owner[:1]
                self.add(
                    "read",
                    f"batch:{tag}",
                    "service",
                    batch_rate,
                    self._data(pipeline, "BatchGetRecord", groups),
                    start,
                    end,
                )
            if training and nightly_rate:
                self.add(
                    "read",
                    f"train:{tag}",
                    "batch",
                    nightly_rate,
                    self._data(training, "BatchGetRecord", [grant.group]),
                    start,
                    end,
                )
            for i, human in enumerate(humans[:2]):
                self.add(
                    "read",
                    f"human{i}:{tag}",
                    "human",
                    human_rate / 2,
                    self._data(human, "GetRecord", [grant.group]),
                    start,
                    end,
                )
                self.add("metadata", f"describe{i}:{tag}", "human", 0.8, self._describe(human, grant.group), start, end)
                self.add(
                    "metadata", f"meta{i}:{tag}", "human", 0.6, self._describe_metadata(human, grant.group), start, end
                )
            if consumer.legacy_user and grant != self.dormant:
                self.add(
                    "read",
                    f"legacy:{tag}",
                    "batch",
                    3,
                    self._data(consumer.legacy_user, "BatchGetRecord", [grant.group]),
                    start,
                    end,
                )
            if consumer.federated and grant != self.dormant:
                self.add(
                    "read",
                    f"fed:{tag}",
                    "human",
                    2,
                    self._data(consumer.federated, "GetRecord", [grant.group]),
                    start,
                    end,
                )
            if grant.can_write and grant != self.read_only_rw and pipeline:
                self.add(
                    "write", f"put:{tag}", "service", 14, self._data(pipeline, "PutRecord", [grant.group]), start, end
                )
                self.add(
                    "write",
                    f"delete:{tag}",
                    "human",
                    0.3,
                    self._data(humans[0], "DeleteRecord", [grant.group]),
                    start,
                    end,
                )
            if grant.is_admin and grant != self.read_only_rw:
                self.add("metadata", f"edit:{tag}", "human", 0.4, self._edit(humans[0], grant.group), start, end)

    def _share_events(self, grant: Grant, created: dt.datetime, owner: Account | None, consumer: Account) -> None:
        """RAM calls that made the grant: create (or add to) the share, accept an invitation."""
        if owner is None or owner.admin is None:
            return
        row = self.model.shares.get((grant.group.arn, grant.consumer), {})
        share_arn = grant.share_arn or row.get("share_arn", "")
        rng = self.rng("share", grant.group.arn, grant.consumer)
        first = self._share_first.get(share_arn) if share_arn else None
        if first is not None and first < created:
            self.once("ram", R.associate_resource_share(created, owner.admin, grant.group, share_arn, rng=rng))
            return
        external = bool(row.get("external") or row.get("invitation_arn"))
        self.once(
            "ram",
            R.create_resource_share(
                created,
                owner.admin,
                grant.group,
                grant.consumer,
                grant.permission,
                rng=rng,
                share_arn=share_arn,
                name=row.get("share_name", ""),
                external=external,
            ),
        )
        if row.get("invitation_arn") and consumer.admin is not None:
            self.once(
                "ram",
                R.accept_resource_share_invitation(
                    created + dt.timedelta(minutes=40),
                    consumer.admin,
                    row["invitation_arn"],
                    share_arn,
                    row.get("share_name", ""),
                    grant.group.account_id,
                    grant.group.region,
                ),
            )

    def _data(self, principal: R.Principal, operation: str, groups: list[R.FeatureGroupRef]):
        def make(rng: random.Random, when: dt.datetime) -> R.Call:
            error = None
            if operation in ("GetRecord", "BatchGetRecord") and rng.random() < 0.004:
                error = ("ThrottlingException", "Rate exceeded")
            return R.feature_store_data_call(
                when, principal, operation, groups, error=error, version=_version(rng, True)
            )

        return make

    def _describe(self, principal: R.Principal, group: R.FeatureGroupRef):
        return lambda rng, when: R.describe_feature_group(when, principal, group, version=_version(rng, False))

    def _describe_metadata(self, principal: R.Principal, group: R.FeatureGroupRef):
        features = self._features(group)

        def make(rng: random.Random, when: dt.datetime) -> R.Call:
            return R.describe_feature_metadata(
                when, principal, group, rng.choice(features), version=_version(rng, False)
            )

        return make

    def _edit(self, principal: R.Principal, group: R.FeatureGroupRef):
        features = self._features(group)

        def make(rng: random.Random, when: dt.datetime) -> R.Call:
            feature = rng.choice(features)
            return R.update_feature_metadata(
                when,
                principal,
                group,
                feature,
                parameters={"reviewed_by": principal.session.split("@")[0] or principal.name},
                version=_version(rng, False),
            )

        return make

    @staticmethod
    def _features(group: R.FeatureGroupRef) -> list[str]:
        stem = group.name.split("_")[0]
        return [f"{stem}_id", "event_time", f"{stem}_score", f"{stem}_count_7d", f"{stem}_amount_30d"]

    # ------------------------------------------------------------------ discovery, denials

    def _exploration(self) -> None:
        for account in self.model.accounts.values():
            owners = self.model.discoverable_owners(account.account_id)
            if not owners or not account.humans:
                continue
            regions = sorted({region for _, region in owners})
            for region in regions:
                human = account.humans[0]
                expression = {"filters": [{"name": "Tags.domain", "operator": "Contains", "value": "fraud"}]}

                def make(rng, when, human=human, region=region, expression=expression):
                    return R.search(
                        when,
                        human,
                        region,
                        expression=expression if rng.random() < 0.4 else None,
                        cross_account=True,
                        version=_version(rng, False),
                    )

                self.add("discovery", f"search:{account.account_id}:{region}", "human", 3, make)

    def _denials(self) -> None:
        story = self.history.story["denied"]
        for account in self.model.accounts.values():
            if not account.humans:
                continue
            visible = self.model.ungranted_visible_groups(account.account_id)
            if not visible:
                continue
            chosen = self.rng("curious", account.account_id).sample(visible, min(2, len(visible)))
            for index, group in enumerate(chosen):
                human = account.humans[(index + 1) % len(account.humans)]
                operation = "GetRecord" if index == 0 else "DescribeFeatureGroup"
                action = f"sagemaker:{operation}"
                error = R.access_denied(human, action, group.arn)

                def make(rng, when, human=human, group=group, operation=operation, error=error):
                    if operation == "GetRecord":
                        return R.feature_store_data_call(when, human, "GetRecord", [group], error=error)
                    return R.describe_feature_group(when, human, group, error=error)

                self.add("denied", f"denied:{account.account_id}:{group.arn}", "human", 0.35, make)
                story.append(
                    {"caller": human.arn, "account": account.account_id, "operation": operation, "arn": group.arn}
                )
        # A read-only grantee's freshly deployed pipeline tries to write: a burst of denials.
        read_only = [g for g in self.model.grants if g.permission == "ReadOnly" and g != self.dormant]
        if read_only:
            grant = read_only[0]
            consumer = self.model.accounts.get(grant.consumer)
            if consumer and consumer.pipeline:
                when = (self.now - 12 * DAY).replace(hour=10, minute=14, second=3)
                error = R.access_denied(consumer.pipeline, "sagemaker:PutRecord", grant.group.arn)
                for i in range(6):
                    self.once(
                        "denied",
                        R.feature_store_data_call(
                            when + dt.timedelta(seconds=7 * i),
                            consumer.pipeline,
                            "PutRecord",
                            [grant.group],
                            error=error,
                        ),
                    )
                story.append(
                    {
                        "caller": consumer.pipeline.arn,
                        "account": consumer.account_id,
                        "operation": "PutRecord",
                        "arn": grant.group.arn,
                    }
                )

    # ------------------------------------------------------------------ owners

    def _owners(self) -> None:
        for account in self.model.accounts.values():
            groups = [g for g in self.model.groups if g.account_id == account.account_id]
            if not groups or not account.owns_groups:
                continue
            rng = self.rng("owner", account.account_id)
            self.anchor = account.account_id
            granted = [g.group for g in self.model.grants if g.group.account_id == account.account_id]
            streamed = list(dict.fromkeys(granted + rng.sample(groups, min(3, len(groups)))))[:4]
            for group in streamed:
                self.add(
                    "owner", f"ingest:{group.arn}", "service", 12, self._data(account.ingestion, "PutRecord", [group])
                )
            human = account.humans[0]
            for group in rng.sample(groups, min(4, len(groups))):
                self.add("owner", f"debug:{group.arn}", "human", 0.7, self._data(human, "GetRecord", [group]))
                self.add("owner", f"odesc:{group.arn}", "human", 0.5, self._describe(human, group))
                self.add(
                    "owner",
                    f"oedit:{group.arn}",
                    "human",
                    0.3,
                    self._edit(account.humans[1 % len(account.humans)], group),
                )
            for region in sorted({g.region for g in groups}):
                self.add(
                    "owner",
                    f"osearch:{account.account_id}:{region}",
                    "human",
                    1.5,
                    lambda rng, when, h=human, r=region: R.search(when, h, r, version=_version(rng, False)),
                )

    # ------------------------------------------------------------------ Pantry

    def _pantry(self) -> None:
        model = self.model
        for account in model.accounts.values():
            if account.pantry is None or account.reader_role_arn is None:
                continue
            rng = self.rng("pantry", account.account_id)
            # Every account was registered at once, so Celery beat finds them all due in the same
            # minute, every hour (PANTRY_SYNC_INTERVAL_MINUTES=60).
            offset = dt.timedelta(minutes=_minute("pantry"), seconds=rng.randrange(60))
            groups = [g for g in model.groups if g.account_id == account.account_id]
            regions = sorted({g.region for g in groups}) if account.owns_groups and groups else [account.regions[0]]
            external_id = next(
                (
                    a.get("external_id")
                    for a in model.manifest.get("accounts", [])
                    if a["account_id"] == account.account_id
                ),
                None,
            )
            hour = max(self.start, self.now - PANTRY_DAYS * DAY).replace(minute=0) + offset
            while hour < self.now:
                for region in regions:
                    self._pantry_session(account, region, hour, external_id, groups)
                hour += dt.timedelta(hours=1)

    def _pantry_session(self, account: Account, region: str, when: dt.datetime, external_id, groups) -> None:
        rng = self.rng("pantry-session", account.account_id, region, R.iso(when))
        pantry = account.pantry
        self.once(
            "pantry",
            R.assume_role(
                when,
                self.model.platform,
                account.reader_role_arn,
                pantry.session,
                region,
                external_id=external_id,
                rng=rng,
            ),
        )
        at = when + dt.timedelta(seconds=1)
        if account.owns_groups and groups:
            in_region = [g for g in groups if g.region == region]
            pages = max(1, math.ceil(len(in_region) / 100))
            for page in range(pages):
                token = f"{page:04d}" if page else None
                self.once("pantry", R.search(at, pantry, region, next_token=token, version="1.08"))
            since = R.iso(when - dt.timedelta(hours=1, minutes=5))
            expression = {"filters": [{"name": "LastModifiedTime", "operator": "GreaterThanOrEqualTo", "value": since}]}
            self.once(
                "pantry",
                R.search(at + dt.timedelta(seconds=1), pantry, region, "FeatureMetadata", expression=expression),
            )
            if when.hour % 6 == 0:
                ctx = R.sagemaker_call(
                    at + dt.timedelta(seconds=2),
                    pantry,
                    "ListContexts",
                    region,
                    {"contextType": "FeatureGroup", "maxResults": 100},
                )
                self.once("pantry", ctx)
                contexts = (
                    self.model.manifest.get("lineage", {})
                    .get(f"{account.account_id}/{region}", {})
                    .get("feature_group_contexts", {})
                )
                for group in in_region[:3]:
                    if group.arn not in contexts:
                        continue
                    request = {
                        "startArns": [contexts[group.arn]],
                        "direction": "Both",
                        "includeEdges": True,
                        "maxDepth": 10,
                    }
                    self.once(
                        "pantry",
                        R.sagemaker_call(at + dt.timedelta(seconds=3), pantry, "QueryLineage", region, request),
                    )
        if account.consumes:
            self.once(
                "pantry",
                R.ram_call(at, pantry, "GetResourceShareInvitations", region, {"maxResults": 100}),
            )

    # ------------------------------------------------------------------ noise

    def _noise(self) -> None:
        service = self.model.sagemaker_service()
        for account in self.model.accounts.values():
            aid = account.account_id
            region = account.regions[0]
            self.anchor = aid
            if account.owns_groups:
                role = f"arn:aws:iam::{aid}:role/SageMakerFeatureStoreExecution"
                self.add(
                    "noise",
                    f"sm-assume:{aid}",
                    "service",
                    8,
                    lambda rng, when, role=role, region=region: R.assume_role(
                        when, service, role, f"SageMaker-{rng.getrandbits(40):010x}", region, rng=rng
                    ),
                )
            worker = account.ingestion or account.pipeline
            if worker is not None:
                key = f"arn:aws:kms:{region}:{aid}:key/{R.new_uuid(self.rng('kms', aid))}"
                self.add(
                    "noise",
                    f"kms:{aid}",
                    "service",
                    8,
                    lambda rng, when, w=worker, key=key, region=region: _noise_call(
                        when,
                        w,
                        "kms.amazonaws.com",
                        "Decrypt",
                        region,
                        {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": key},
                        resources=[{"accountId": key.split(":")[4], "type": "AWS::KMS::Key", "ARN": key}],
                    ),
                )
            if account.humans:
                human = account.humans[-1]
                self.add(
                    "noise",
                    f"glue:{aid}",
                    "human",
                    3,
                    lambda rng, when, h=human, region=region: _noise_call(
                        when,
                        h,
                        "glue.amazonaws.com",
                        "GetTable",
                        region,
                        {"databaseName": "sagemaker_featurestore", "name": f"table_{rng.randrange(40):02d}"},
                    ),
                )
                self.add(
                    "noise",
                    f"s3:{aid}",
                    "human",
                    1,
                    lambda rng, when, h=human, region=region: _noise_call(
                        when, h, "s3.amazonaws.com", "ListBuckets", region, {"Host": f"s3.{region}.amazonaws.com"}
                    ),
                )


def _noise_call(
    when: dt.datetime,
    principal: R.Principal,
    source: str,
    name: str,
    region: str,
    request: dict[str, Any] | None,
    *,
    resources: list[dict[str, str]] | None = None,
) -> R.Call:
    return R.Call(
        when=when,
        principal=principal,
        event_source=source,
        event_name=name,
        region=region,
        request=request,
        resources=resources or [],
        host=f"{source.split('.')[0]}.{region}.amazonaws.com",
    )


# --------------------------------------------------------------------------- delivery


def delivery_plan(
    calls: list[tuple[str, R.Call]], now: dt.datetime, rng: random.Random
) -> tuple[list[tuple[dt.datetime, dict[str, Any]]], Counter]:
    """Records with the time CloudTrail delivers them (late and duplicate ones included).

    CloudTrail collects each account's events for about five minutes and then writes a file:
    a record is delivered at the end of its five-minute window (the file's own stamp adds a
    per-stream offset, see :func:`deliver_history`), or 15-95 minutes later when it is late.
    """
    planned: list[tuple[dt.datetime, dict[str, Any]]] = []
    stats: Counter = Counter()
    for _, call in calls:
        for record in call.records(rng):
            stats["records"] += 1
            at = _slot_end(call.when)
            if rng.random() < LATE_SHARE:
                at = _slot_end(call.when + dt.timedelta(minutes=15 + rng.randrange(80)))
                stats["late_records"] += 1
            planned.append((at, record))
            if rng.random() < DUPLICATE_SHARE:
                planned.append((at + SLOT * (1 + rng.randrange(3)), record))
                stats["duplicate_records"] += 1
    return planned, stats


def _slot_end(when: dt.datetime) -> dt.datetime:
    base = when.replace(second=0, microsecond=0)
    return base + dt.timedelta(minutes=(5 - base.minute % 5) % 5 or 5)


def deliver_history(
    history: History,
    now: dt.datetime,
    *,
    trails: list[Trail] | None = None,
    sink: MotoSink | None = None,
    seed: int = 20240611,
    digest_hours: int = 48,
    regions: list[str] | None = None,
) -> dict[str, Any]:
    """Write the history's log files (and recent digest files) into the trails' buckets."""
    trails = load_trails() if trails is None else trails
    sink = sink or MotoSink()
    rng = random.Random(f"{seed}:delivery")
    now = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    planned, stats = delivery_plan(history.calls, now, rng)
    by_trail = {t.arn: t for t in trails}
    files: dict[tuple[str, str, str, dt.datetime], list[dict[str, Any]]] = defaultdict(list)
    jitter: dict[tuple[str, str, str], dt.timedelta] = {}
    for at, record in planned:
        for (trail_arn, account, region), recs in route([record], trails).items():
            stream = (trail_arn, account, region)
            if stream not in jitter:
                jitter[stream] = dt.timedelta(seconds=random.Random(f"{seed}:{stream}").randrange(150))
            stamp = min(at + jitter[stream], now)
            files[(trail_arn, account, region, stamp.replace(second=0))].extend(recs)
    written: list[tuple[tuple[str, str, str], LogFile]] = []
    for (trail_arn, account, region, stamp), recs in sorted(files.items(), key=lambda kv: kv[0][3]):
        file_rng = random.Random(f"{seed}:{trail_arn}:{account}:{region}:{stamp.isoformat()}")
        if file_rng.random() < 0.6:
            file_rng.shuffle(recs)
        else:
            recs.sort(key=lambda r: r["eventTime"])
        log_file = write_log_file(sink, by_trail[trail_arn], account, region, recs, stamp, file_rng, level=GZIP_LEVEL)
        written.append(((trail_arn, account, region), log_file))
        stats["files"] += 1
        stats["delivered_records"] += len(recs)
        stats["bytes"] += log_file.size
    chains = history_digests(written, trails, now, sink, digest_hours, regions or [])
    stats["digest_files"] = sum(c["digests"] for c in chains.values())
    return {"stats": dict(stats), "chains": chains, "files": written}


def history_digests(
    written: list[tuple[tuple[str, str, str], LogFile]],
    trails: list[Trail],
    now: dt.datetime,
    sink: MotoSink,
    hours: int,
    regions: list[str],
) -> dict[tuple[str, str, str], Any]:
    """Hourly digest files for the last ``hours`` hours of every validated stream."""
    chains: dict[tuple[str, str, str], Any] = {}
    if hours <= 0:
        return chains
    last_end = now.replace(minute=0)
    first_end = last_end - dt.timedelta(hours=hours - 1)
    streams = {s for s, _ in written}
    for trail in trails:
        if not trail.validation:
            continue
        for account in trail.members:
            for region in regions or sorted({r for (_, _, r) in streams}):
                if trail.covers(account, region):
                    streams.add((trail.arn, account, region))
    by_trail = {t.arn: t for t in trails}
    per_stream: dict[tuple[str, str, str], list[LogFile]] = defaultdict(list)
    for stream, log_file in written:
        if log_file.delivered_at >= first_end - dt.timedelta(hours=1):
            per_stream[stream].append(log_file)
    for stream in sorted(streams):
        trail = by_trail[stream[0]]
        if not trail.validation:
            continue
        chain = DigestChain(trail, stream[1], stream[2], last_end=first_end - dt.timedelta(hours=1))
        for log_file in per_stream.get(stream, []):
            chain.add(log_file)
        end, count = first_end, 0
        while end <= last_end:
            chain.emit(sink, end)
            end += dt.timedelta(hours=1)
            count += 1
        chains[stream] = {"chain": chain, "digests": count}
    return chains
