from __future__ import annotations

import re

from django import forms

from catalog.models import AwsAccount, external_id_generate
from portal import aws


class AwsAccountForm(forms.ModelForm):
    regions = forms.CharField(
        error_messages={"required": "Enter at least one region."},
        help_text="Comma-separated AWS regions Pantry syncs, e.g. eu-west-1, us-east-1.",
        widget=forms.TextInput(attrs={"placeholder": "eu-west-1, us-east-1"}),
    )
    external_id = forms.CharField(
        max_length=1224,
        widget=forms.PasswordInput(render_value=False),
        help_text=(
            "Leave empty: Pantry generates an unguessable one, and the account page shows it with the trust "
            "policy to paste. Type one only for a role whose trust policy already names it."
        ),
        required=False,
    )
    regenerate_external_id = forms.BooleanField(
        required=False,
        label="Generate a new external id",
        help_text="Pantry stops reaching the account until its owners put the new id in the role's trust policy.",
    )

    # The new-id box sits under the id it replaces.
    field_order = ["account_id", "name", "kind", "team", "contact_email", "role_arn", "external_id"]
    field_order += ["regenerate_external_id"]

    class Meta:
        model = AwsAccount
        fields = [
            "account_id",
            "name",
            "kind",
            "team",
            "contact_email",
            "role_arn",
            "external_id",
            "regions",
            "metadata_write_allowed",
            "sync_enabled",
            "sync_interval_minutes",
        ]
        # Django's own reads "Aws account with this Account id already exists."
        error_messages = {
            "account_id": {"unique": "This AWS account is already registered in Pantry."},
            "name": {"unique": "Another account already has this name."},
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["regions"] = ", ".join(self.instance.regions)
            self.fields[
                "external_id"
            ].help_text = (
                "Leave empty to keep the current one (the account page shows it), or tick the box below for a new one."
            )
        else:
            del self.fields["regenerate_external_id"]

    def clean_account_id(self) -> str:
        value = self.cleaned_data["account_id"].strip()
        if not re.fullmatch(r"\d{12}", value):
            raise forms.ValidationError("An AWS account id is exactly 12 digits, e.g. 123456789012.")
        return value

    def clean_regions(self) -> list[str]:
        raw = [r.strip().lower() for r in re.split(r"[,\s]+", self.cleaned_data["regions"]) if r.strip()]
        if not raw:
            raise forms.ValidationError("Enter at least one region.")
        known = aws.service_regions("sagemaker")
        unknown = [r for r in raw if r not in known]
        if unknown:
            raise forms.ValidationError(
                "Not an AWS region with SageMaker: %(regions)s.", params={"regions": ", ".join(unknown)}
            )
        return list(dict.fromkeys(raw))

    def clean_external_id(self) -> str:
        value = self.cleaned_data.get("external_id", "")
        if not value and self.instance.pk:
            return self.instance.external_id
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        # Not a model field: it only decides the external id (and must not reach the service).
        if cleaned.pop("regenerate_external_id", False):
            if self.data.get("external_id"):
                self.add_error("external_id", "Either type an external id or ask for a new one, not both.")
            else:
                cleaned["external_id"] = external_id_generate()
        account_id = cleaned.get("account_id")
        role_arn = cleaned.get("role_arn")
        if account_id and role_arn:
            match = re.match(r"^arn:aws[\w-]*:iam::(\d{12}):role/", role_arn)
            if match and match.group(1) != account_id:
                self.add_error(
                    "role_arn",
                    f"The role must live in account {account_id}; this ARN names account {match.group(1)}.",
                )
        return cleaned


class SyncRequestForm(forms.Form):
    region = forms.CharField(required=False)

    def __init__(self, *args, account: AwsAccount, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_region(self) -> str:
        region = self.cleaned_data["region"]
        if region and region not in self.account.regions:
            raise forms.ValidationError("This account is not synced in that region.")
        return region


# ---------------------------------------------------------------------------
# Description editing (rules live in catalog.services.descriptions, shared with the API)
# ---------------------------------------------------------------------------


class DescriptionForm(forms.Form):
    description = forms.CharField(
        label="Pantry description (markdown)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "form-control font-mono"}),
        help_text="Markdown: headings, lists, tables, code and links. Scripts, images and raw HTML are removed.",
    )

    def clean_description(self) -> str:
        from catalog.services.descriptions import description_validate

        # Keep inner whitespace (markdown line breaks), drop what trails.
        value = self.cleaned_data["description"].rstrip()
        description_validate(value)
        return value


class ParameterForm(forms.Form):
    key = forms.CharField(required=False, strip=True, widget=forms.TextInput(attrs={"class": "form-control"}))
    value = forms.CharField(required=False, strip=True, widget=forms.TextInput(attrs={"class": "form-control"}))

    def clean(self) -> dict:
        from catalog.services.descriptions import parameter_text_validate

        cleaned = super().clean()
        key, value = cleaned.get("key", ""), cleaned.get("value", "")
        if not key and not value:
            return cleaned  # an empty row: nothing, or a parameter being removed
        for name, text in (("key", key), ("value", value)):
            try:
                parameter_text_validate(text, what=name)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return cleaned


class BaseParameterFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.forms:
            key = form.cleaned_data.get("key")
            if not key:
                continue
            if key in seen:
                raise forms.ValidationError(f"The parameter key {key!r} appears twice.")
            seen.add(key)

    def parameters(self) -> dict[str, str]:
        """The submitted rows as AWS-style parameters; empty rows are dropped."""
        return {
            form.cleaned_data["key"]: form.cleaned_data["value"]
            for form in self.forms
            if form.cleaned_data.get("key") and form.cleaned_data.get("value")
        }


def parameter_formset(*, data=None, parameters: dict[str, str] | None = None) -> BaseParameterFormSet:
    """Key/value rows for a feature's parameters, with two blank rows to add more."""
    from catalog.services.descriptions import MAX_PARAMETERS

    formset_class = forms.formset_factory(
        ParameterForm, formset=BaseParameterFormSet, extra=2, max_num=MAX_PARAMETERS, validate_max=True
    )
    initial = [{"key": k, "value": v} for k, v in sorted((parameters or {}).items())]
    return formset_class(data=data, initial=initial, prefix="parameters")
