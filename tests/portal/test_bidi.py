"""Bidi control characters ("Trojan Source") in descriptions and other user or AWS text are
shown as visible [U+XXXX] markers on every page, so they cannot reorder what surrounds them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Feature, LineageEdge, LineageNode
from catalog.services.lineage import lineage_node_for_group
from tests.factories import FeatureFactory, FeatureGroupFactory

RLO, PDF, LRI, PDI, RLM, ALM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200f", "\u061c"
ALL_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Stored "...is safe" reads as "...is unsafe"-style nonsense once the override flips it.
TROJAN = f"Checked by the risk team {RLO}gnirolf on si{PDF} and approved."


def _no_controls_outside_textareas(html: str) -> list[str]:
    outside = re.sub(r"<textarea\b.*?</textarea>", "", html, flags=re.S)
    return [f"U+{ord(c):04X}" for c in outside if c in ALL_CONTROLS]


@pytest.fixture
def trojan_group(org):
    org.central.name = f"central{RLO}-feature-store"
    org.central.save()
    group = FeatureGroupFactory(
        account=org.central,
        name="customer_profile",
        description=TROJAN,
        pantry_description=f"**Owner note:** {TROJAN}\n\n```\nif is_admin {RLO}{LRI}// check later{PDI}{PDF}:\n```",
        tags={"stage": f"prod{RLM}{ALM}"},
    )
    FeatureFactory(
        feature_group=group,
        name="age_days",
        type=Feature.Type.INTEGRAL,
        description=TROJAN,
        parameters={"unit": f"days{RLO}"},
    )
    return group


@pytest.mark.django_db
def test_group_feature_and_search_pages_show_markers_instead_of_controls(client, owner, trojan_group):
    client.force_login(owner)
    urls = [
        trojan_group.get_absolute_url(),
        reverse("catalog:feature_detail", args=[trojan_group.uuid, "age_days"]),
        reverse("catalog:catalog_list") + "?q=customer",
        reverse("catalog:catalog_list") + f"?q=risk{RLO}team",
        reverse("catalog:account_list"),
        reverse("home"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert _no_controls_outside_textareas(html) == [], url
    group_html = client.get(trojan_group.get_absolute_url()).content.decode()
    assert "Checked by the risk team [U+202E]gnirolf on si[U+202C] and approved." in group_html
    assert "prod[U+200F][U+061C]" in group_html
    assert "[U+202E][U+2066]// check later[U+2069][U+202C]" in group_html  # inside the markdown code block


@pytest.mark.django_db
def test_the_description_editor_keeps_the_stored_text_and_previews_with_markers(client, owner, trojan_group):
    client.force_login(owner)
    html = client.get(reverse("catalog:group_description_edit", args=[trojan_group.uuid])).content.decode()
    textarea = re.search(r"<textarea\b[^>]*>(.*?)</textarea>", html, re.S).group(1)
    assert TROJAN in textarea  # saving without touching it changes nothing
    assert _no_controls_outside_textareas(html) == []
    preview = client.post(
        reverse("catalog:description_preview", args=[trojan_group.uuid]), {"description": TROJAN}
    ).content.decode()
    assert "[U+202E]gnirolf on si[U+202C]" in preview and RLO not in preview


@pytest.mark.django_db
def test_lineage_names_from_openlineage_are_neutralised_on_the_lineage_page(client, owner, trojan_group):
    node = lineage_node_for_group(group=trojan_group)
    source = LineageNode.objects.create(key="ol://ns::evil", kind="dataset", name=f"raw{RLO}_events")
    LineageEdge.objects.create(source=source, target=node, origin="openlineage")
    client.force_login(owner)
    html = client.get(reverse("catalog:group_lineage", args=[trojan_group.uuid])).content.decode()
    assert "raw[U+202E]_events" in html
    assert _no_controls_outside_textareas(html) == []


@pytest.mark.django_db
def test_error_pages_and_htmx_fragments_are_covered_too(client, owner, trojan_group):
    client.force_login(owner)
    fragment = client.get(reverse("catalog:group_schema", args=[trojan_group.uuid]), HTTP_HX_REQUEST="true")
    assert "[U+202E]" in fragment.content.decode()
    assert _no_controls_outside_textareas(fragment.content.decode()) == []


@pytest.mark.django_db
def test_the_api_returns_the_text_as_stored(owner, trojan_group):
    api = APIClient()
    api.force_authenticate(owner)
    body = api.get(f"/api/v1/feature-groups/{trojan_group.uuid}/").json()
    assert body["description"] == TROJAN


def test_markers_never_change_markup():
    from portal.bidi import html_bidi_controls_visible

    html = f'<a title="x{RLO}y" href="/a">n{RLO}</a><textarea name="d">keep{RLO}</textarea><p>{PDF}</p>'
    assert html_bidi_controls_visible(html) == (
        '<a title="x[U+202E]y" href="/a">n[U+202E]</a><textarea name="d">keep\u202e</textarea><p>[U+202C]</p>'
    )
