"""factory_boy factories for Pantry's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import AwsAccount, Feature, FeatureGroup, Membership, SyncRun
from sharing.models import Grant


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class AwsAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AwsAccount

    account_id = factory.Sequence(lambda n: f"{900000000000 + n:012d}")
    name = factory.Sequence(lambda n: f"account-{n}")
    kind = AwsAccount.Kind.OWNER
    role_arn = factory.LazyAttribute(lambda a: f"arn:aws:iam::{a.account_id}:role/PantryCatalogReader")
    external_id = factory.LazyAttribute(lambda a: f"pantry-{a.name}")
    regions = factory.LazyFunction(lambda: ["eu-west-1"])


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AwsAccountFactory)
    role = Membership.Role.MEMBER


class FeatureGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeatureGroup

    account = factory.SubFactory(AwsAccountFactory)
    region = "eu-west-1"
    name = factory.Sequence(lambda n: f"feature_group_{n}")
    arn = factory.LazyAttribute(lambda g: f"arn:aws:sagemaker:{g.region}:{g.account.account_id}:feature-group/{g.name}")
    description = ""
    record_identifier_feature = "id"
    event_time_feature = "event_time"
    status = "Created"
    offline_store_enabled = True
    online_store_enabled = True
    aws_created_at = factory.LazyFunction(timezone.now)
    aws_modified_at = factory.LazyFunction(timezone.now)


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    feature_group = factory.SubFactory(FeatureGroupFactory)
    name = factory.Sequence(lambda n: f"feature_{n}")
    type = Feature.Type.STRING
    position = factory.Sequence(lambda n: n)


class GrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grant

    owner_account = factory.SubFactory(AwsAccountFactory)
    consumer_account = factory.SubFactory(AwsAccountFactory, kind=AwsAccount.Kind.CONSUMER)
    region = "eu-west-1"
    resource_type = Grant.ResourceType.CATALOG
    permission = Grant.Permission.DISCOVER
    status = Grant.Status.ACTIVE
    source = Grant.Source.MANUAL


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    account = factory.SubFactory(AwsAccountFactory)
    region = "eu-west-1"


def api_token_issue(user, *, scope: str = "write", days: int = 30, name: str = "test token") -> str:
    """A personal API token for `user` (the whole secret, as its owner copied it)."""
    from datetime import timedelta

    from identity.services.tokens import api_token_create

    return api_token_create(
        user=user, name=name, scope=scope, expires_at=timezone.now() + timedelta(days=days), actor=user
    ).secret
