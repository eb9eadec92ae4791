"""Writes of Pantry descriptions: feature groups and features, with history and AWS write-back.

Every edit that changes something appends a `DescriptionEdit` row (who, when,
before/after); an unchanged submit writes nothing. Feature edits are also
written to AWS with UpdateFeatureMetadata when the account allows it
(`AwsAccount.metadata_write_allowed`); an AWS failure never undoes the Pantry
edit, it is recorded on the edit row for the page to show.

A feature group's own description cannot be written back: AWS sets it at
CreateFeatureGroup and UpdateFeatureGroup has no Description parameter, so
group descriptions are always Pantry-only.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from itertools import zip_longest

from django.core.exceptions import ValidationError
from django.db import transaction

from catalog.gateways.featurestore import FeatureStoreGateway
from catalog.models import DescriptionEdit, Feature, FeatureGroup
from catalog.services.sync import account_role, feature_words_refresh
from portal import aws

logger = logging.getLogger(__name__)

# Pantry's own cap; long enough for a real data dictionary entry, short
# enough that a page never has to render a novel.
MAX_DESCRIPTION_LENGTH = 20_000
MAX_PARAMETERS = 100
# AWS limits of UpdateFeatureMetadata (botocore's service model / API reference,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateFeatureMetadata.html):
# Description ≤ 255 characters; ParameterAdditions and ParameterRemovals ≤ 25
# items a call; parameter keys and values 1–255 characters of letters,
# numbers, spaces and _.:/=+-
AWS_DESCRIPTION_MAX_LENGTH = 255
AWS_PARAMETERS_PER_CALL = 25
AWS_PARAMETER_MAX_LENGTH = 255
_PARAMETER_PUNCTUATION = frozenset("_.:/=+-")


# ---------------------------------------------------------------------------
# Validation (shared by the forms, the API and the services themselves)
# ---------------------------------------------------------------------------


def description_validate(description: str) -> None:
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise ValidationError(
            "A description is at most %(max)s characters; this one has %(length)s.",
            code="max_length",
            params={"max": f"{MAX_DESCRIPTION_LENGTH:,}", "length": f"{len(description):,}"},
        )


def _parameter_text_ok(text: str) -> bool:
    """AWS's pattern `[\\p{L}\\p{Z}\\p{N}_.:/=+\\-]*`, which Python's `re` cannot spell."""
    return all(ch in _PARAMETER_PUNCTUATION or unicodedata.category(ch)[0] in ("L", "Z", "N") for ch in text)


def parameter_text_validate(text: str, *, what: str) -> None:
    if not text:
        raise ValidationError("A parameter %(what)s cannot be empty.", code="required", params={"what": what})
    if len(text) > AWS_PARAMETER_MAX_LENGTH:
        raise ValidationError(
            "A parameter %(what)s is at most %(max)s characters.",
            code="max_length",
            params={"what": what, "max": AWS_PARAMETER_MAX_LENGTH},
        )
    if not _parameter_text_ok(text):
        raise ValidationError(
            "A parameter %(what)s may hold letters, numbers, spaces and _ . : / = + - only.",
            code="invalid",
            params={"what": what},
        )


def parameters_validate(parameters: dict[str, str]) -> None:
    """Parameters follow AWS's rules even for Pantry-only accounts, so a later write-back works."""
    if not isinstance(parameters, dict):
        raise ValidationError("Parameters are an object of string keys and string values.", code="invalid")
    if len(parameters) > MAX_PARAMETERS:
        raise ValidationError(
            "A feature has at most %(max)s parameters.", code="max_parameters", params={"max": MAX_PARAMETERS}
        )
    for key, value in parameters.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationError("Parameter keys and values are strings.", code="invalid")
        parameter_text_validate(key, what="key")
        parameter_text_validate(value, what="value")


# ---------------------------------------------------------------------------
# Feature groups
# ---------------------------------------------------------------------------


def feature_group_description_update(*, group: FeatureGroup, editor, description: str) -> DescriptionEdit | None:
    """Set the group's Pantry description. Returns the history row, or None when nothing changed."""
    description_validate(description)
    with transaction.atomic():
        # Lock the group so two owners saving at once produce two ordered
        # history rows whose before/after chain, not two rows with the same before.
        locked = FeatureGroup.objects.select_for_update().get(pk=group.pk)
        if locked.deleted_at is not None:
            raise ValidationError("This feature group was deleted in AWS; its description can no longer change.")
        before = locked.pantry_description
        if before == description:
            return None
        locked.pantry_description = description
        locked.save(update_fields=["pantry_description"])
        edit = DescriptionEdit.objects.create(feature_group=locked, editor=editor, before=before, after=description)
    group.pantry_description = description
    return edit


# ---------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _WriteBack:
    written: bool
    error: str
    aws_description: str | None  # the description AWS now holds, when this call set it


def feature_store_gateway_for(*, group: FeatureGroup) -> FeatureStoreGateway:
    """A gateway into the group's account and region (tests replace this)."""
    return FeatureStoreGateway(aws.account_session(account_role(group.account), group.region))


def feature_description_update(
    *, feature: Feature, editor, description: str, parameters: dict[str, str]
) -> DescriptionEdit | None:
    """Set a feature's Pantry description and parameters; write them to AWS where allowed.

    Returns the history row (with `written_to_aws` / `aws_error` filled in),
    or None when the submit changed nothing.
    """
    description_validate(description)
    parameters_validate(parameters)
    with transaction.atomic():
        # `of=("self",)`: lock the feature row only, not the joined group and
        # account rows that a sync of the same account also updates.
        locked = (
            Feature.objects.select_for_update(of=("self",)).select_related("feature_group__account").get(pk=feature.pk)
        )
        group = locked.feature_group
        if group.deleted_at is not None:
            raise ValidationError("This feature group was deleted in AWS; its features can no longer change.")
        before, parameters_before = locked.pantry_description, dict(locked.parameters or {})
        if parameters != parameters_before and not group.account.metadata_write_allowed:
            # Parameters are AWS's feature metadata, mirrored by the sync; a
            # Pantry-only change would be overwritten by the next sync.
            raise ValidationError(
                "Parameters are AWS feature metadata, and %(account)s does not let Pantry write it; "
                "change them in AWS and the next sync brings them here.",
                code="parameters_read_only",
                params={"account": group.account.name},
            )
        if before == description and parameters_before == parameters:
            return None
        edit = DescriptionEdit(
            feature_group=group,
            feature=locked,
            editor=editor,
            before=before,
            after=description,
            parameters_before=parameters_before,
            parameters_after=parameters,
        )
        locked.pantry_description = description
        locked.parameters = parameters
        update_fields = ["pantry_description", "parameters"]
        if group.account.metadata_write_allowed:
            # The AWS call happens while the row lock is held, on purpose: two
            # quick edits of one feature then reach AWS in the order of the
            # history rows. The lock covers one feature row, so it only makes
            # a second editor of that same feature wait.
            result = _feature_metadata_write_back(
                group=group,
                feature=locked,
                description_changed=before != description,
                description=description,
                parameters_before=parameters_before,
                parameters_after=parameters,
            )
            edit.written_to_aws, edit.aws_error = result.written, result.error
            if result.aws_description is not None:
                # Pantry's copy of the AWS metadata follows what AWS now holds.
                locked.description = result.aws_description
                update_fields.append("description")
        locked.save(update_fields=update_fields)
        edit.save()
        feature_words_refresh(group=group)
    feature.pantry_description = locked.pantry_description
    feature.parameters = locked.parameters
    feature.description = locked.description
    return edit


def _feature_metadata_write_back(
    *,
    group: FeatureGroup,
    feature: Feature,
    description_changed: bool,
    description: str,
    parameters_before: dict[str, str],
    parameters_after: dict[str, str],
) -> _WriteBack:
    additions = {k: v for k, v in parameters_after.items() if parameters_before.get(k) != v}
    removals = [k for k in parameters_before if k not in parameters_after]
    # An empty or over-long Pantry description leaves AWS's description as it
    # is (UpdateFeatureMetadata always receives one, so we resend the current).
    notes: list[str] = []
    new_aws_description = None
    if description_changed and description and len(description) <= AWS_DESCRIPTION_MAX_LENGTH:
        new_aws_description = description
    elif description_changed and len(description) > AWS_DESCRIPTION_MAX_LENGTH:
        notes.append(
            f"The description has {len(description):,} characters and AWS feature metadata holds at most "
            f"{AWS_DESCRIPTION_MAX_LENGTH}, so the description was kept in Pantry only."
        )
    if new_aws_description is None and not additions and not removals:
        return _WriteBack(written=False, error=" ".join(notes), aws_description=None)

    aws_description = new_aws_description if new_aws_description is not None else feature.description
    addition_items = list(additions.items())
    chunks = list(
        zip_longest(
            _chunks(addition_items, AWS_PARAMETERS_PER_CALL), _chunks(removals, AWS_PARAMETERS_PER_CALL), fillvalue=[]
        )
    ) or [([], [])]
    try:
        gateway = feature_store_gateway_for(group=group)
        for added, removed in chunks:
            gateway.update_feature_metadata(
                group=group.arn,
                feature=feature.name,
                description=aws_description,
                parameter_additions=dict(added),
                parameter_removals=list(removed),
            )
    except aws.AwsError as exc:
        logger.warning("UpdateFeatureMetadata failed for %s.%s: %s", group.arn, feature.name, exc)
        return _WriteBack(written=False, error=" ".join([str(exc), *notes]), aws_description=None)
    return _WriteBack(written=True, error=" ".join(notes), aws_description=new_aws_description)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]
