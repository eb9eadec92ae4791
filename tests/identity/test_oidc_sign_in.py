"""Sign-in through a real OpenID provider process (oidc-provider-mock): people, memberships from groups, failures."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse

from catalog.models import Membership
from identity.models import OidcIdentity, RoleMapping
from identity.oidc import PantryOIDCBackend, oidc_provider
from portal.models import AuditEvent
from tests.factories import MembershipFactory, UserFactory

User = get_user_model()


def sign_in(client, provider, sub: str, *, next_url: str | None = None):
    """Click "Sign in with…", authorize at the provider as `sub`, follow the redirect back."""
    start = client.get(reverse("identity:oidc_login") + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith(provider.issuer + "/oauth2/authorize?")
    callback = urlsplit(provider.authorize(start["Location"], sub))
    return client.get(f"{callback.path}?{callback.query}")


@pytest.fixture
def mappings(org):
    return {
        "scientists": RoleMapping.objects.create(
            group="fraud-scientists", account=org.consumer, role=Membership.Role.MEMBER
        ),
        "admins": RoleMapping.objects.create(
            group="fraud-admins", account=org.consumer, role=Membership.Role.ACCOUNT_ADMIN
        ),
        "owners": RoleMapping.objects.create(group="central-owners", account=org.central, role=Membership.Role.OWNER),
        "governance": RoleMapping.objects.create(group="risk-office", grants=RoleMapping.Grants.GOVERNANCE),
        "operators": RoleMapping.objects.create(group="platform-team", grants=RoleMapping.Grants.OPERATOR),
    }


def memberships_of(user) -> dict[str, tuple[str, str]]:
    return {m.account.name: (m.role, m.source) for m in Membership.objects.filter(user=user).select_related("account")}


def test_first_sign_in_creates_the_person_from_claims_with_memberships_from_groups(client, oidc, mappings, org):
    oidc.user_set(
        "ida-0001",
        email="ida@corp.example",
        given_name="Ida",
        family_name="Directory",
        preferred_username="ida",
        groups=["fraud-scientists", "central-owners", "unmapped-group"],
    )
    response = sign_in(client, oidc, "ida-0001", next_url="/catalog/")
    assert response.status_code == 302 and response["Location"] == "/catalog/"

    user = User.objects.get(oidc_identity__subject="ida-0001")
    assert (user.username, user.email, user.get_full_name()) == ("ida", "ida@corp.example", "Ida Directory")
    assert not user.has_usable_password()
    assert user.oidc_identity.issuer == oidc.issuer
    assert memberships_of(user) == {
        "fraud-research": ("member", "directory"),
        "central-feature-store": ("owner", "directory"),
    }
    assert not user.is_staff
    # The session is the person's: pages answer as them.
    assert client.get("/").wsgi_request.user == user
    actions = set(AuditEvent.objects.filter(object_label__icontains="ida").values_list("action", flat=True))
    assert {"user.created", "membership.created"} <= actions
    created = AuditEvent.objects.get(action="membership.created", owner_account_id=org.central.account_id)
    assert created.via == "directory" and created.actor_label == "Directory (at sign-in)"
    assert created.after["source"] == "directory" and created.after["directory_groups"] == ["central-owners"]


def test_a_change_of_groups_at_the_next_sign_in_adds_changes_and_removes_directory_memberships(
    client, oidc, mappings, org
):
    oidc.user_set("ida-0002", email="ida2@corp.example", groups=["fraud-scientists", "central-owners"])
    sign_in(client, oidc, "ida-0002")
    user = User.objects.get(oidc_identity__subject="ida-0002")
    client.logout()

    # Promoted to admin of fraud-research, left the owners group, joined governance.
    oidc.user_set("ida-0002", email="ida2@corp.example", groups=["fraud-scientists", "fraud-admins", "risk-office"])
    sign_in(client, oidc, "ida-0002")
    assert memberships_of(user) == {"fraud-research": ("account_admin", "directory")}
    membership = Membership.objects.get(user=user)
    assert membership.directory_groups == ["fraud-admins"]  # the strongest role's group
    assert user.groups.filter(name="governance").exists()
    assert AuditEvent.objects.filter(action="membership.deleted", owner_account_id=org.central.account_id).exists()
    assert AuditEvent.objects.filter(action="membership.updated", object_label__contains="fraud-research").exists()

    # All groups gone: every directory grant goes too.
    client.logout()
    oidc.user_set("ida-0002", email="ida2@corp.example", groups=[])
    sign_in(client, oidc, "ida-0002")
    assert memberships_of(user) == {}
    assert not user.groups.filter(name="governance").exists()


def test_memberships_and_rights_set_by_hand_survive_sign_ins(client, oidc, mappings, org, operator):
    oidc.user_set("ida-0003", email="ida3@corp.example", groups=["central-owners"])
    sign_in(client, oidc, "ida-0003")
    user = User.objects.get(oidc_identity__subject="ida-0003")
    client.logout()
    # An operator adds ida to payments-ml by hand and makes her an operator by hand.
    client.force_login(operator)
    client.post(
        reverse("identity:membership_create"),
        {"user": user.username, "account": org.team.pk, "role": Membership.Role.OWNER},
    )
    client.post(reverse("identity:person_access", args=[user.username]), {"operator": "on", "active": "on"})
    client.logout()

    oidc.user_set("ida-0003", email="ida3@corp.example", groups=[])
    sign_in(client, oidc, "ida-0003")
    assert memberships_of(user) == {"payments-ml": ("owner", "manual")}
    user.refresh_from_db()
    assert user.is_staff


def test_a_hand_set_membership_wins_over_a_mapping_for_the_same_account(client, oidc, mappings, org):
    user = UserFactory(username="ida-existing")
    OidcIdentity.objects.create(user=user, issuer=oidc.issuer, subject="ida-0004")
    MembershipFactory(user=user, account=org.consumer, role=Membership.Role.MEMBER)
    oidc.user_set("ida-0004", email="ida4@corp.example", groups=["fraud-admins"])
    sign_in(client, oidc, "ida-0004")
    assert memberships_of(user) == {"fraud-research": ("member", "manual")}


def test_operator_rights_from_the_directory_come_and_go_with_the_group(client, oidc, mappings):
    oidc.user_set("ops-0001", email="ops@corp.example", groups=["platform-team"])
    sign_in(client, oidc, "ops-0001")
    user = User.objects.get(oidc_identity__subject="ops-0001")
    assert user.is_staff and user.oidc_identity.directory_staff
    assert client.get(reverse("identity:people_list")).status_code == 200
    client.logout()
    oidc.user_set("ops-0001", email="ops@corp.example", groups=[])
    sign_in(client, oidc, "ops-0001")
    user.refresh_from_db()
    assert not user.is_staff
    assert client.get(reverse("identity:people_list")).status_code == 403
    assert AuditEvent.objects.filter(action="user.operator_revoked", object_id=user.username).exists()


def test_a_local_user_with_the_same_email_and_username_is_never_taken_over(client, oidc, mappings, operator):
    local = UserFactory(username="otto-local", email="otto@corp.example")
    local_staff = operator  # username "otto"
    oidc.user_set("attacker-sub", email="otto@corp.example", preferred_username="otto", groups=[])
    sign_in(client, oidc, "attacker-sub")
    created = User.objects.get(oidc_identity__subject="attacker-sub")
    assert created.pk not in {local.pk, local_staff.pk}
    assert created.username == "otto-2"
    assert not created.is_staff
    assert client.get("/").wsgi_request.user == created


def test_the_same_person_is_recognised_by_issuer_and_sub_even_after_an_email_change(client, oidc, mappings):
    oidc.user_set("ida-0005", email="old@corp.example", groups=[])
    sign_in(client, oidc, "ida-0005")
    client.logout()
    oidc.user_set("ida-0005", email="new@corp.example", name="Ida Renamed", groups=[])
    sign_in(client, oidc, "ida-0005")
    users = User.objects.filter(oidc_identity__subject="ida-0005")
    assert users.count() == 1
    assert users.get().email == "new@corp.example" and users.get().first_name == "Ida Renamed"


def test_the_login_page_offers_both_ways_when_oidc_is_on(client, oidc):
    html = client.get(reverse("login")).content.decode()
    assert "Sign in with Test IdP" in html and 'name="password"' in html


def test_without_oidc_the_login_page_has_only_local_accounts_and_oidc_urls_are_404(client, settings, db):
    settings.PANTRY_OIDC = None
    html = client.get(reverse("login")).content.decode()
    assert "Sign in with" not in html and 'name="password"' in html
    assert client.get(reverse("identity:oidc_login")).status_code == 404
    assert client.get(reverse("identity:oidc_callback") + "?code=x&state=y").status_code == 404


def test_break_glass_local_sign_in_is_audited_when_oidc_is_on(client, oidc, operator):
    response = client.post(reverse("login"), {"username": "otto", "password": "correct horse battery staple"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="auth.local_sign_in")
    assert event.actor_username == "otto" and event.source_ip == "127.0.0.1"


def test_a_replayed_callback_is_refused_with_a_message(client, oidc, mappings):
    oidc.user_set("ida-0006", email="ida6@corp.example", groups=[])
    start = client.get(reverse("identity:oidc_login"))
    callback = urlsplit(oidc.authorize(start["Location"], "ida-0006"))
    assert client.get(f"{callback.path}?{callback.query}").status_code == 302
    client.logout()
    replay = client.get(f"{callback.path}?{callback.query}", follow=True)
    assert replay.wsgi_request.path == reverse("login")
    assert "Signing in with Test IdP failed" in replay.content.decode()
    assert not replay.wsgi_request.user.is_authenticated


def test_denying_at_the_provider_comes_back_to_the_login_page_with_its_reason(client, oidc, db):
    import requests

    start = client.get(reverse("identity:oidc_login"))
    denied = requests.post(start["Location"], data={"action": "deny"}, allow_redirects=False, timeout=5)
    callback = urlsplit(denied.headers["Location"])
    assert parse_qs(callback.query)["error"] == ["access_denied"]
    response = client.get(f"{callback.path}?{callback.query}", follow=True)
    assert "Test IdP did not sign you in" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_a_deactivated_person_cannot_sign_in_through_the_provider(client, oidc, mappings):
    oidc.user_set("ida-0007", email="ida7@corp.example", groups=[])
    sign_in(client, oidc, "ida-0007")
    client.logout()
    User.objects.filter(oidc_identity__subject="ida-0007").update(is_active=False)
    response = sign_in(client, oidc, "ida-0007")
    follow = client.get(response["Location"])
    assert "deactivated" in follow.content.decode()
    assert not follow.wsgi_request.user.is_authenticated


def test_an_unreachable_provider_gives_a_sentence_not_an_error(client, settings, db):
    from identity.oidc import discovery_cache_clear
    from tests.oidc_provider import _free_port, oidc_config

    settings.PANTRY_OIDC = oidc_config(f"http://127.0.0.1:{_free_port()}", timeout=1)
    discovery_cache_clear()
    response = client.get(reverse("identity:oidc_login"), follow=True)
    assert response.wsgi_request.path == reverse("login")
    assert "Test IdP cannot be reached right now" in response.content.decode()


def test_a_discovery_document_for_another_issuer_is_refused(client, settings, oidc_provider, db):
    from identity.oidc import discovery_cache_clear
    from tests.oidc_provider import oidc_config

    # The provider's document names http://127.0.0.1:<port>, not the issuer Pantry was told to trust.
    settings.PANTRY_OIDC = oidc_config(
        "https://idp.example", discovery_url=f"{oidc_provider.issuer}/.well-known/openid-configuration"
    )
    discovery_cache_clear()
    response = client.get(reverse("identity:oidc_login"), follow=True)
    assert "cannot be reached right now" in response.content.decode()


@pytest.fixture
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _id_token(key, **claims) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + 300, "sub": "someone", **claims}
    return jwt.encode(payload, key, algorithm="RS256")


def test_id_tokens_for_another_client_or_issuer_or_expired_are_refused(oidc, signing_key):
    backend = PantryOIDCBackend()
    backend.provider = oidc_provider()
    public = signing_key.public_key()
    good = {"iss": oidc.issuer, "aud": "pantry-tests"}
    assert backend._verify_jws(_id_token(signing_key, **good), public)["sub"] == "someone"
    for bad in (
        {**good, "aud": "another-client"},
        {**good, "iss": "https://evil.example"},
        {**good, "exp": int(time.time()) - 3600},
        {"iss": oidc.issuer},  # no audience at all
    ):
        with pytest.raises(SuspiciousOperation):
            backend._verify_jws(_id_token(signing_key, **bad), public)
    unsigned = jwt.encode(
        {**good, "sub": "x", "iat": int(time.time()), "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    with pytest.raises(SuspiciousOperation):
        backend.get_payload_data(unsigned, public)
