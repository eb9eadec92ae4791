from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import AwsAccount, Membership
from identity.models import ApiToken, RoleMapping
from portal.audit import ACTION_LABELS


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses it, e.g. “airflow-prod lineage”. Shown in the list so you know which to revoke.",
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices,
        initial=ApiToken.Scope.READ,
        widget=forms.RadioSelect,
        help_text="Read tokens may only GET. OpenLineage emitters need write.",
    )
    expires_on = forms.DateField(
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token works until the end of this day (UTC).",
    )

    def __init__(self, *args, max_days: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.max_days = max_days
        today = timezone.now().date()
        self.fields["expires_on"].initial = today + timedelta(days=min(90, max_days))
        self.fields["expires_on"].widget.attrs.update(
            {"min": (today + timedelta(days=1)).isoformat(), "max": (today + timedelta(days=max_days)).isoformat()}
        )
        self.fields["expires_on"].help_text += f" At most {max_days} days from today."

    def clean_expires_on(self):
        value = self.cleaned_data["expires_on"]
        today = timezone.now().date()
        if value <= today:
            raise forms.ValidationError("Choose a day after today.")
        if value > today + timedelta(days=self.max_days):
            raise forms.ValidationError(
                f"A token lives at most {self.max_days} days: choose a day on or before {today + timedelta(days=self.max_days)}."
            )
        return value

    def expires_at(self) -> datetime:
        """Midnight UTC after the chosen day: the token works through that whole day."""
        return datetime.combine(self.cleaned_data["expires_on"] + timedelta(days=1), time.min, tzinfo=UTC)


class UsernameField(forms.CharField):
    """A person by username (a text box: a select of every user does not scale)."""

    def clean(self, value):
        value = super().clean(value)
        user = get_user_model().objects.filter(username=value).first() if value else None
        if value and user is None:
            raise forms.ValidationError(f"Nobody has the username “{value}”.")
        return user


class MembershipCreateForm(forms.Form):
    user = UsernameField(label="Person (username)", max_length=150)
    account = forms.ModelChoiceField(queryset=AwsAccount.objects.order_by("name"), label="AWS account")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class RoleMappingForm(forms.Form):
    group = forms.CharField(
        max_length=255, label="IdP group", help_text="Exactly as the groups claim carries it (case matters)."
    )
    grants = forms.ChoiceField(
        choices=RoleMapping.Grants.choices, initial=RoleMapping.Grants.ACCOUNT_ROLE, label="Gives its members"
    )
    account = forms.ModelChoiceField(
        queryset=AwsAccount.objects.order_by("name"),
        required=False,
        label="AWS account",
        help_text="For a role in an AWS account.",
    )
    role = forms.ChoiceField(
        choices=[("", "—"), *Membership.Role.choices], required=False, help_text="For a role in an AWS account."
    )


class PersonAccessForm(forms.Form):
    operator = forms.BooleanField(
        required=False, help_text="Registers accounts, manages people, mappings, tokens; reads the audit log."
    )
    governance = forms.BooleanField(required=False, help_text="Sees every account's catalog and usage, read-only.")
    active = forms.BooleanField(
        required=False, help_text="Off: no sign-in of any kind, and the person's API tokens stop working."
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    actor = forms.CharField(required=False, max_length=150, label="Who (username)")
    object_type = forms.ChoiceField(
        required=False,
        label="Object",
        choices=[
            ("", "Any"),
            ("aws_account", "AWS account"),
            ("membership", "Membership"),
            ("role_mapping", "Role mapping"),
            ("user", "Person"),
            ("api_token", "API token"),
        ],
    )
    account = forms.RegexField(
        regex=r"^\d{12}$",
        required=False,
        label="AWS account id",
        error_messages={"invalid": "An AWS account id is 12 digits."},
    )
    q = forms.CharField(required=False, max_length=200, label="Object contains")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To (inclusive)")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any"), *sorted(ACTION_LABELS.items(), key=lambda item: item[1])]
