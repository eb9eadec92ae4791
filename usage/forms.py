"""Forms of the usage pages: the dashboard's filters, grants-vs-use's window, trail sources, replays."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils import timezone

from catalog.models import (
    ACCOUNT_ID_VALIDATOR,
    EXTERNAL_ID_VALIDATOR,
    ROLE_ARN_VALIDATOR,
    AwsAccount,
    FeatureGroup,
    external_id_generate,
)
from usage import selectors
from usage.models import TrailSource
from usage.operations import FEATURE_STORE_OPERATIONS, SHARING_OPERATIONS

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
BUCKET_VALIDATOR = RegexValidator(
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", "An S3 bucket name is 3-63 lowercase letters, digits, dots and hyphens."
)
ORGANISATION_VALIDATOR = RegexValidator(r"^o-[a-z0-9]{10,32}$", "An organisation id looks like o-a1b2c3d4e5.")
REGION_VALIDATOR = RegexValidator(r"^[a-z]{2}(-[a-z]+)+-\d$", "Enter an AWS region like eu-west-1.")
PREFIX_VALIDATOR = RegexValidator(r"^[A-Za-z0-9!_.*'()/-]*$", "A trail prefix uses letters, digits and !_.*'()/- only.")


def _bootstrap(form: forms.BaseForm) -> None:
    """Bootstrap classes on every widget (the templates render `field.as_widget`)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = css


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# Dates outside this span are refused (400) rather than overflowing date arithmetic (end - 29 days, end + 1 day).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def _day_in_span(day: date | None) -> date | None:
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationError(f"Enter a date between {EARLIEST_DAY:%Y-%m-%d} and {LATEST_DAY:%Y-%m-%d}.")
    return day


OPERATION_CHOICES = [("", "Any operation"), *[(op, op) for op in sorted(FEATURE_STORE_OPERATIONS | SHARING_OPERATIONS)]]


class UsageFilterForm(forms.Form):
    """Date range, owner account, consumer account, feature group, operation.

    Everything is optional; the range defaults to the last 30 days. Unknown
    accounts, groups and operations are errors, not silently ignored filters
    (a misspelt filter that shows everything looks like a result).
    """

    start = forms.DateField(required=False, widget=_date_widget())
    end = forms.DateField(required=False, widget=_date_widget())
    owner = forms.CharField(required=False, label="Owner account", validators=[ACCOUNT_ID_VALIDATOR], max_length=12)
    consumer = forms.CharField(
        required=False, label="Consumer account", validators=[ACCOUNT_ID_VALIDATOR], max_length=12
    )
    group = forms.UUIDField(required=False, label="Feature group")
    operation = forms.ChoiceField(required=False, choices=OPERATION_CHOICES)

    def __init__(self, *args, scope: selectors.UsageScope, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        # Set when a filter names something outside the caller's scope: the API answers 404.
        self.out_of_scope = False
        self.fields["owner"].widget.attrs["list"] = "owner-accounts"
        self.fields["consumer"].widget.attrs["list"] = "consumer-accounts"
        _bootstrap(self)

    def clean_start(self) -> date | None:
        return _day_in_span(self.cleaned_data.get("start"))

    def clean_end(self) -> date | None:
        return _day_in_span(self.cleaned_data.get("end"))

    def _known_account(self, account_id: str, *, owner: bool) -> str:
        if not account_id:
            return ""
        if owner and not self.scope.sees_account(account_id):
            self.out_of_scope = True
            raise ValidationError("Not an owner account whose usage you can see.")
        if self.scope.everything and not AwsAccount.objects.filter(account_id=account_id).exists():
            raise ValidationError("No AWS account with this id is registered in Pantry.")
        return account_id

    def clean_owner(self) -> str:
        return self._known_account(self.cleaned_data.get("owner", ""), owner=True)

    def clean_consumer(self) -> str:
        return self._known_account(self.cleaned_data.get("consumer", ""), owner=False)

    def clean_group(self) -> FeatureGroup | None:
        group_uuid = self.cleaned_data.get("group")
        if group_uuid is None:
            return None
        group = FeatureGroup.objects.select_related("account").filter(uuid=group_uuid).first()
        if group is None or not self.scope.sees_account(group.account.account_id):
            if not self.scope.everything:
                self.out_of_scope = True
            raise ValidationError("No feature group with this id whose usage you can see.")
        return group

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - timedelta(days=selectors.DEFAULT_DAYS - 1)
        if "start" in data and "end" in data:
            if start > end:
                raise ValidationError("The start date is after the end date.")
            if (end - start).days + 1 > selectors.MAX_DAYS:
                raise ValidationError(f"Choose a range of at most {selectors.MAX_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> selectors.UsageFilters:
        data = self.cleaned_data
        return selectors.UsageFilters(
            start=data["start"],
            end=data["end"],
            owner_account_id=data.get("owner") or "",
            consumer_account_id=data.get("consumer") or "",
            feature_group=data.get("group"),
            operation=data.get("operation") or "",
        )


class GrantsWindowForm(forms.Form):
    days = forms.IntegerField(
        required=False, min_value=1, max_value=selectors.MAX_DAYS, label="Unused for at least (days)"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def window(self) -> int:
        return self.cleaned_data.get("days") or selectors.DEFAULT_DAYS


class TrailSourceForm(forms.ModelForm):
    # Like an account's external id: a confused-deputy guard Pantry generates, never rendered back
    # into the form (the source's page shows it with the trust policy).
    external_id = forms.CharField(
        required=False,
        max_length=1224,
        validators=[EXTERNAL_ID_VALIDATOR],
        widget=forms.PasswordInput(render_value=False),
        help_text=(
            "Leave empty: Pantry generates an unguessable one, and the source's page shows it with the trust "
            "policy to paste. Type one only for a role whose trust policy already names it."
        ),
    )
    regenerate_external_id = forms.BooleanField(
        required=False,
        label="Generate a new external id",
        help_text="Pantry stops reading the bucket until the role's trust policy names the new id.",
    )

    class Meta:
        model = TrailSource
        fields = ["name", "kind", "bucket", "prefix", "region", "organisation_id", "account_id", "role_arn", "enabled"]
        labels = {"organisation_id": "Organisation id", "account_id": "Trail account id", "role_arn": "Role ARN"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account_id"].validators.append(ACCOUNT_ID_VALIDATOR)
        self.fields["role_arn"].validators.append(ROLE_ARN_VALIDATOR)
        self.fields["bucket"].validators.append(BUCKET_VALIDATOR)
        self.fields["organisation_id"].validators.append(ORGANISATION_VALIDATOR)
        self.fields["region"].validators.append(REGION_VALIDATOR)
        self.fields["prefix"].validators.append(PREFIX_VALIDATOR)
        if self.instance.pk:
            self.fields[
                "external_id"
            ].help_text = (
                "Leave empty to keep the current one (the source's page shows it), or tick the box below for a new one."
            )
        else:
            del self.fields["regenerate_external_id"]
        _bootstrap(self)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == TrailSource.Kind.ORGANISATION and not data.get("organisation_id"):
            self.add_error(
                "organisation_id", "An organisation trail writes under AWSLogs/o-…/: enter the organisation id."
            )
        if data.get("kind") == TrailSource.Kind.ACCOUNT and data.get("organisation_id"):
            self.add_error("organisation_id", "An account trail has no organisation id.")
        if data.get("regenerate_external_id") and self.data.get("external_id"):
            self.add_error("external_id", "Either type an external id or ask for a new one, not both.")
        return data

    def source_fields(self) -> dict:
        """Fields for usage.services.trail_source_create/update.

        A new source without a typed id gets a generated one; on an edit an empty box keeps the
        current id and the checkbox asks for a new one.
        """
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        typed = self.cleaned_data.get("external_id", "")
        if typed:
            fields["external_id"] = typed
        elif self.instance.pk is None or self.cleaned_data.get("regenerate_external_id"):
            fields["external_id"] = external_id_generate()
        return fields


class ReplayForm(forms.Form):
    start = forms.DateField(widget=_date_widget())
    end = forms.DateField(widget=_date_widget(), label="End (inclusive)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise ValidationError("The start date is after the end date.")
            if (end - start).days + 1 > selectors.MAX_DAYS:
                raise ValidationError(f"Replay at most {selectors.MAX_DAYS} days at a time.")
            if start > timezone.localdate():
                raise ValidationError("The range starts in the future.")
        return data
