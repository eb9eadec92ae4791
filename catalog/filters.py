import django_filters

from catalog.models import AwsAccount, FeatureGroup, SyncRun


class SyncRunFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account__uuid")
    account_id = django_filters.CharFilter(field_name="account__account_id")
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=SyncRun.Trigger.choices)
    region = django_filters.CharFilter()

    class Meta:
        model = SyncRun
        fields = ["account", "account_id", "status", "trigger", "region"]


class AwsAccountFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AwsAccount.Kind.choices)

    class Meta:
        model = AwsAccount
        fields = ["kind", "account_id"]


class FeatureGroupFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account__uuid")
    account_id = django_filters.CharFilter(field_name="account__account_id")
    region = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = FeatureGroup
        fields = ["account", "account_id", "region", "name"]
