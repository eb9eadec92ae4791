"""Operators' pages for people, memberships and role mappings, and the audit log every privileged action lands in."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from catalog.models import Membership
from identity.models import OidcIdentity, RoleMapping
from portal.audit import audit_log
from portal.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def operator_urls(org, data_scientist) -> list[tuple[str, str]]:
    mapping = RoleMapping.objects.create(group="g", account=org.consumer, role=Membership.Role.MEMBER)
    person, account = data_scientist.username, org.consumer.account_id
    return [
        ("get", reverse("identity:people_list")),
        ("get", reverse("identity:person_detail", args=[person])),
        ("post", reverse("identity:person_access", args=[person])),
        ("get", reverse("identity:membership_list")),
        ("get", reverse("identity:membership_create")),
        ("post", reverse("identity:membership_create")),
        ("get", reverse("identity:membership_edit", args=[person, account])),
        ("post", reverse("identity:membership_delete", args=[person, account])),
        ("get", reverse("identity:mapping_list")),
        ("post", reverse("identity:mapping_list")),
        ("get", reverse("identity:mapping_edit", args=[mapping.uuid])),
        ("post", reverse("identity:mapping_delete", args=[mapping.uuid])),
        ("get", reverse("identity:audit_list")),
        ("get", reverse("identity:audit_csv")),
        ("get", reverse("identity:token_all")),
    ]


@pytest.mark.parametrize("persona", ["data_scientist", "owner", "consumer_admin", "governance", "outsider"])
def test_only_operators_reach_operator_pages(client, request, org, data_scientist, persona):
    client.force_login(request.getfixturevalue(persona))
    for method, url in operator_urls(org, data_scientist):
        assert getattr(client, method)(url).status_code == 403, url
    # Nothing was changed by the refused posts.
    assert Membership.objects.filter(user=data_scientist).exists()
    assert RoleMapping.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, org, data_scientist):
    for method, url in operator_urls(org, data_scientist):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_unknown_people_and_memberships_are_404_for_operators(client, operator, org):
    client.force_login(operator)
    assert client.get(reverse("identity:person_detail", args=["nobody"])).status_code == 404
    assert client.get(reverse("identity:membership_edit", args=["nobody", org.central.account_id])).status_code == 404


def test_operator_adds_changes_and_removes_a_membership_each_audited(client, operator, org, data_scientist):
    client.force_login(operator)
    response = client.post(
        reverse("identity:membership_create"),
        {"user": "dana", "account": org.central.pk, "role": Membership.Role.OWNER},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=data_scientist, account=org.central)
    assert (membership.role, membership.source) == ("owner", "manual")
    created = AuditEvent.objects.get(action="membership.created")
    assert (created.actor_username, created.source_ip, created.via) == ("otto", "203.0.113.7", "web")
    assert created.owner_account_id == org.central.account_id and created.after["role"] == "owner"

    client.post(
        reverse("identity:membership_edit", args=["dana", org.central.account_id]), {"role": Membership.Role.MEMBER}
    )
    updated = AuditEvent.objects.get(action="membership.updated")
    assert (updated.before["role"], updated.after["role"]) == ("owner", "member")

    client.post(reverse("identity:membership_delete", args=["dana", org.central.account_id]))
    assert not Membership.objects.filter(user=data_scientist, account=org.central).exists()
    assert AuditEvent.objects.get(action="membership.deleted").before["role"] == "member"
    # Removing again (a double click) is harmless and not logged twice.
    client.post(reverse("identity:membership_delete", args=["dana", org.central.account_id]))
    assert AuditEvent.objects.filter(action="membership.deleted").count() == 1


def test_a_second_membership_in_the_same_account_is_refused_clearly(client, operator, org, data_scientist):
    client.force_login(operator)
    response = client.post(
        reverse("identity:membership_create"), {"user": "dana", "account": org.consumer.pk, "role": "owner"}
    )
    assert "already belongs to fraud-research" in response.content.decode()
    assert Membership.objects.get(user=data_scientist, account=org.consumer).role == "member"
    unknown = client.post(
        reverse("identity:membership_create"), {"user": "ghost", "account": org.consumer.pk, "role": "member"}
    )
    assert "Nobody has the username" in unknown.content.decode()


def test_editing_a_directory_membership_by_hand_makes_it_manual(client, operator, org):
    person = UserFactory(username="ida")
    MembershipFactory(
        user=person, account=org.consumer, role="member", source="directory", directory_groups=["fraud-scientists"]
    )
    client.force_login(operator)
    page = client.get(reverse("identity:membership_edit", args=["ida", org.consumer.account_id])).content.decode()
    assert "sign-ins will no longer change or remove it" in page
    client.post(reverse("identity:membership_edit", args=["ida", org.consumer.account_id]), {"role": "owner"})
    membership = Membership.objects.get(user=person)
    assert (membership.role, membership.source, membership.directory_groups) == ("owner", "manual", [])


def _signed_in_person(username: str, groups: list[str], issuer: str = "https://idp.example") -> OidcIdentity:
    return OidcIdentity.objects.create(
        user=UserFactory(username=username), issuer=issuer, subject=username, groups=groups
    )


def test_a_new_mapping_applies_at_once_to_people_who_signed_in_with_the_group(client, operator, org):
    ida = _signed_in_person("ida", ["fraud-scientists"])
    _signed_in_person("bob", ["other"])
    client.force_login(operator)
    response = client.post(
        reverse("identity:mapping_list"),
        {"group": "fraud-scientists", "grants": "account_role", "account": org.consumer.pk, "role": "member"},
        follow=True,
    )
    assert "Applied to 1 signed-in person: 1 memberships added" in response.content.decode()
    assert Membership.objects.get(user=ida.user).source == "directory"
    assert not Membership.objects.filter(user__username="bob").exists()
    mapping = RoleMapping.objects.get()
    audit = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username", "note"))
    assert audit[0][:2] == ("role_mapping.created", "otto")
    assert audit[1][:2] == ("membership.created", "otto") and "role mapping added" in audit[1][2]

    # Changing the role changes the directory membership; removing the mapping removes it.
    client.post(
        reverse("identity:mapping_edit", args=[mapping.uuid]),
        {"group": "fraud-scientists", "grants": "account_role", "account": org.consumer.pk, "role": "account_admin"},
    )
    assert Membership.objects.get(user=ida.user).role == "account_admin"
    client.post(reverse("identity:mapping_delete", args=[mapping.uuid]))
    assert not Membership.objects.filter(user=ida.user).exists()
    assert {"role_mapping.updated", "role_mapping.deleted", "membership.deleted"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_an_operator_mapping_grants_and_takes_operator_rights(client, operator):
    ida = _signed_in_person("ida", ["platform-team"])
    client.force_login(operator)
    client.post(reverse("identity:mapping_list"), {"group": "platform-team", "grants": "operator"})
    ida.user.refresh_from_db()
    assert ida.user.is_staff
    client.post(reverse("identity:mapping_delete", args=[RoleMapping.objects.get().uuid]))
    ida.user.refresh_from_db()
    assert not ida.user.is_staff


@pytest.mark.parametrize(
    "data, message",
    [
        ({"group": "", "grants": "account_role", "role": "member"}, "This field is required"),
        ({"group": "g", "grants": "account_role", "role": "member"}, "Choose the AWS account the role is in."),
        ({"group": "g", "grants": "account_role", "account": "", "role": ""}, "Choose the AWS account"),
        ({"group": "g", "grants": "nonsense"}, "Select a valid choice"),
    ],
)
def test_bad_mappings_get_clear_errors_and_store_nothing(client, operator, data, message):
    client.force_login(operator)
    response = client.post(reverse("identity:mapping_list"), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not RoleMapping.objects.exists()


def test_a_duplicate_mapping_is_refused(client, operator, org):
    RoleMapping.objects.create(group="g", account=org.consumer, role="member")
    client.force_login(operator)
    response = client.post(
        reverse("identity:mapping_list"),
        {"group": "g", "grants": "account_role", "account": org.consumer.pk, "role": "owner"},
    )
    assert response.status_code == 400 and "already has a role in fraud-research" in response.content.decode()
    assert RoleMapping.objects.count() == 1


def test_governance_and_operator_grants_by_hand_are_audited_and_operators_cannot_demote_themselves(
    client, operator, data_scientist
):
    client.force_login(operator)
    client.post(reverse("identity:person_access", args=["dana"]), {"governance": "on", "active": "on"})
    assert data_scientist.groups.filter(name="governance").exists()
    assert AuditEvent.objects.get(action="user.governance_granted").after == {"governance": True, "source": "manual"}
    response = client.post(reverse("identity:person_access", args=["otto"]), {"active": "on"}, follow=True)
    assert "cannot revoke your own operator rights" in response.content.decode()
    operator.refresh_from_db()
    assert operator.is_staff
    client.post(reverse("identity:person_access", args=["dana"]), {"governance": "on"})
    data_scientist.refresh_from_db()
    assert not data_scientist.is_active
    assert AuditEvent.objects.filter(action="user.deactivated", object_id="dana").exists()


def test_people_and_membership_lists_have_bounded_queries(client, operator, org, django_assert_max_num_queries):
    for n in range(30):
        person = UserFactory(username=f"person{n}")
        MembershipFactory(user=person, account=org.central)
        OidcIdentity.objects.create(user=person, issuer="https://idp.example", subject=f"s{n}")
    client.force_login(operator)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("identity:people_list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("identity:membership_list")).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("identity:audit_list")).status_code == 200


# --- the audit log itself ------------------------------------------------------------


def test_account_registration_and_edits_are_audited_without_the_external_id(client, operator, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.force_login(operator)
    data = {
        "account_id": "555555555555",
        "name": "new-team",
        "kind": "owner",
        "team": "",
        "contact_email": "",
        "role_arn": "arn:aws:iam::555555555555:role/PantryCatalogReader",
        "external_id": "very-secret-external-id",
        "regions": "eu-west-1",
        "sync_enabled": "",
        "sync_interval_minutes": "60",
    }
    assert client.post(reverse("catalog:account_create"), data).status_code == 302
    registered = AuditEvent.objects.get(action="account.registered")
    assert registered.object_id == "555555555555" and registered.after["name"] == "new-team"
    assert "very-secret-external-id" not in str(registered.after) and "external_id" not in registered.after
    from catalog.models import AwsAccount

    account = AwsAccount.objects.get(account_id="555555555555")
    client.post(
        reverse("catalog:account_edit", args=[account.uuid]),
        {**data, "team": "Platform", "external_id": "rotated-id-2"},
    )
    updated = AuditEvent.objects.get(action="account.updated")
    assert updated.before == {"team": ""}
    assert updated.after == {"team": "Platform", "external_id": "changed"}


def test_the_log_is_append_only(operator):
    with transaction.atomic():
        event = audit_log(actor=operator, action="membership.created", object_type="membership", object_id="x")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).note == ""


@pytest.mark.django_db(transaction=True)
def test_an_audit_record_outside_a_transaction_is_refused(operator):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_log(actor=operator, action="membership.created", object_type="membership", object_id="x")
    assert not AuditEvent.objects.exists()


def test_a_change_that_rolls_back_takes_its_audit_record_with_it(operator, org, data_scientist):
    from catalog.services.memberships import membership_create

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        membership_create(user=data_scientist, account=org.central, role="owner", actor=operator)
        1 / 0  # noqa: B018
    assert not AuditEvent.objects.exists()
    assert not Membership.objects.filter(user=data_scientist, account=org.central).exists()


def test_the_audit_page_filters_and_the_csv_matches_and_is_safe_in_spreadsheets(client, operator, org):
    with transaction.atomic():
        audit_log(
            actor=operator,
            action="role_mapping.created",
            object_type="role_mapping",
            object_id="1",
            object_label='=HYPERLINK("http://evil")',
            owner_account_id=org.central.account_id,
        )
        audit_log(
            actor=None,
            action="membership.deleted",
            object_type="membership",
            object_id="2",
            object_label="dana in fraud-research",
        )
    client.force_login(operator)
    page = client.get(reverse("identity:audit_list"), {"action": "role_mapping.created"}).content.decode()
    assert "Role mapping added" in page and "dana in fraud-research" not in page
    by_account = client.get(reverse("identity:audit_list"), {"account": org.central.account_id}).content.decode()
    assert "HYPERLINK" in by_account and "dana in fraud-research" not in by_account
    bad = client.get(reverse("identity:audit_list"), {"account": "12"}).content.decode()
    assert "An AWS account id is 12 digits." in bad

    response = client.get(reverse("identity:audit_csv"), {"object_type": "role_mapping"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert rows[0]["object"] == '\'=HYPERLINK("http://evil")' and rows[0]["actor"] == "otto"


def test_rights_changed_in_the_admin_sites_user_form_are_audited(client, data_scientist):
    from django.contrib.auth.models import Group

    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    governance = Group.objects.get_or_create(name="governance")[0]
    client.force_login(admin_user)
    url = reverse("admin:auth_user_change", args=[data_scientist.pk])
    page = client.get(url).content.decode()
    assert "dana" in page
    response = client.post(
        url,
        {
            "username": "dana",
            "first_name": "Dana",
            "last_name": "Scientist",
            "email": "dana@example.com",
            "is_active": "on",
            "is_staff": "on",
            "groups": [governance.pk],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    actions = set(AuditEvent.objects.filter(object_id="dana").values_list("action", flat=True))
    assert actions == {"user.operator_granted", "user.governance_granted"}
    assert AuditEvent.objects.filter(actor_username="root", note="changed in the admin site").count() == 2
