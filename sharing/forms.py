"""Forms of the sharing pages: access requests, decisions, direct shares, the sharing policy, the audit filter.

Forms check the shape of what was typed; the rules (an end date within the
owner's maximum, terms ticked, no request for access already held, nobody
approving their own request) live in `sharing.services`, which raises
`SharingError(message, field=...)` and the views put the message on the field.
"""

from __future__ import annotations

from django import forms

from sharing.audit_actions import SHARING_ACTIONS


def sharing_action_choices() -> list[tuple[str, str]]:
    return [("", "Any"), *sorted(SHARING_ACTIONS.items(), key=lambda item: item[1])]


class SharingAuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    actor = forms.CharField(required=False, max_length=150, label="Who (username)")
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
        self.fields["action"].choices = sharing_action_choices()

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", "The end date is before the start date.")
        return cleaned


# --- access requests ---------------------------------------------------------------

LEVEL_CHOICES = [
    ("read_only", "Read only: describe the group, GetRecord, BatchGetRecord"),
    ("read_write", "Read and write: also PutRecord, DeleteRecord"),
    ("admin", "Admin: also UpdateFeatureGroup, UpdateFeatureMetadata"),
]
LEVEL_ORDER = {"read_only": 1, "read_write": 2, "admin": 3}
REASON_MAX_LENGTH = 4096
NOTE_MAX_LENGTH = 4096


class AccountChoiceField(forms.ModelChoiceField):
    """Accounts by their public UUID (never the integer key), labelled by name and 12-digit id."""

    def __init__(self, queryset, **kwargs) -> None:
        super().__init__(queryset, to_field_name="uuid", **kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.account_id})"


class AccessRequestForm(forms.Form):
    consumer_account = AccountChoiceField(
        queryset=None,
        label="For account",
        help_text="The AWS account whose credentials will read the group: one of your accounts.",
    )
    level = forms.ChoiceField(choices=LEVEL_CHOICES, widget=forms.RadioSelect, initial="read_only", label="Level")
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Reason",
        help_text=f"What you will use it for; the owners read this. Up to {REASON_MAX_LENGTH:,} characters.",
    )
    ends_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Access ends on")
    terms_accepted = forms.BooleanField(required=False, label="I accept the owner's terms of use")

    def __init__(self, *args, accounts, policy, today, catalog: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from datetime import timedelta

        if catalog:  # discoverability has one level
            del self.fields["level"]
        self.fields["consumer_account"].queryset = accounts
        if accounts.count() == 1:
            self.fields["consumer_account"].initial = accounts.first().uuid
        default_days = getattr(policy, "default_days", None) or 90
        max_days = getattr(policy, "max_days", None) or default_days
        self.max_ends_on = today + timedelta(days=max_days)
        self.fields["ends_on"].initial = today + timedelta(days=min(default_days, max_days))
        # Access must last at least until tomorrow.
        earliest = today + timedelta(days=1)
        self.fields["ends_on"].widget.attrs.update({"min": earliest.isoformat(), "max": self.max_ends_on.isoformat()})
        self.fields[
            "ends_on"
        ].help_text = f"The owner allows up to {max_days} days (until {self.max_ends_on.isoformat()}); access ends by itself then."
        self.terms = (getattr(policy, "terms_of_use", "") or "").strip()
        if not self.terms:
            del self.fields["terms_accepted"]


class ApproveForm(forms.Form):
    level = forms.ChoiceField(choices=LEVEL_CHOICES, label="Approve at level")
    # Empty keeps the requested date.
    ends_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Access ends on")
    note = forms.CharField(
        required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}), label="Note (optional)"
    )

    def __init__(self, *args, access_request, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        requested = access_request.level
        if requested not in LEVEL_ORDER:  # the catalog (discoverability) has one level
            self.fields["level"].choices = [(requested, "Discover (find every group, read none)")]
        else:
            # An owner may lower the level, never raise it.
            self.fields["level"].choices = [
                (value, label) for value, label in LEVEL_CHOICES if LEVEL_ORDER[value] <= LEVEL_ORDER[requested]
            ]
        self.fields["level"].initial = requested
        self.fields["ends_on"].initial = access_request.ends_on
        if access_request.ends_on:
            self.fields["ends_on"].widget.attrs["max"] = access_request.ends_on.isoformat()
            self.fields["ends_on"].help_text = "The requested date or earlier."
        self.prefix = "approve"


class RejectForm(forms.Form):
    note = forms.CharField(
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why (the requester reads this)",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prefix = "reject"


class RevokeForm(forms.Form):
    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, label="Note (optional)")


# --- owners: direct shares and the sharing policy --------------------------------------


class GroupChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, queryset, **kwargs) -> None:
        super().__init__(queryset, to_field_name="uuid", **kwargs)

    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.region})"


class ShareForm(forms.Form):
    consumer_account = AccountChoiceField(queryset=None, label="Share with account")
    region = forms.ChoiceField(label="Region")
    catalog = forms.BooleanField(
        required=False,
        label="The account's catalog in this region (discoverability: find every group, read none)",
    )
    feature_groups = GroupChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Feature groups to share for access",
    )
    level = forms.ChoiceField(
        choices=LEVEL_CHOICES, initial="read_only", label="Access level", help_text="For the chosen feature groups."
    )
    ends_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Ends on (optional)",
        help_text="Leave empty for access that lasts until it is revoked.",
    )

    def __init__(self, *args, owner_account, consumers, groups, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["consumer_account"].queryset = consumers
        regions = list(owner_account.regions or [])
        self.fields["region"].choices = [(r, r) for r in regions]
        if len(regions) == 1:
            self.fields["region"].initial = regions[0]
        self.fields["feature_groups"].queryset = groups


class SharingPolicyForm(forms.Form):
    terms_of_use = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Terms of use",
        help_text="Requesters must tick these before asking for access. Leave empty for none.",
    )
    default_days = forms.IntegerField(min_value=1, max_value=3650, label="Default duration (days)")
    max_days = forms.IntegerField(min_value=1, max_value=3650, label="Maximum duration (days)")

    def clean(self):
        cleaned = super().clean()
        default, maximum = cleaned.get("default_days"), cleaned.get("max_days")
        if default and maximum and default > maximum:
            self.add_error("default_days", "The default cannot be longer than the maximum.")
        return cleaned
