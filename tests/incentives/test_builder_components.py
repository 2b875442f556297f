"""The plan builder's component editor: multipliers edited in the form, and a
component deleted from a draft (refused elsewhere, nothing changed)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from incentives import services
from incentives.models import Component
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.incentives.test_builder_pages import FLAT, TIERED, _component_post

pytestmark = pytest.mark.django_db
D = Decimal

SPIFF = {
    "key": "new_logo",
    "measure": "spiff",
    "period": "quarter",
    "payout_frequency": "quarter",
    "spiff": {"amount": "250.00", "deal_type": "new_business"},
}


def _multipliers(*rows):
    data = {
        "multiplier-TOTAL_FORMS": str(len(rows) + 1),
        "multiplier-INITIAL_FORMS": "0",
        "multiplier-MIN_NUM_FORMS": "0",
        "multiplier-MAX_NUM_FORMS": "1000",
    }
    for i, (factor, deal_type, product_line) in enumerate(rows):
        data |= {
            f"multiplier-{i}-factor": factor,
            f"multiplier-{i}-deal_type": deal_type,
            f"multiplier-{i}-product_line": product_line,
        }
    return data


@pytest.fixture
def draft(world_a):
    with tenant_context(world_a.tenant):
        return services.plan_version_create(
            world_a.tenant, source={**TIERED, "components": [FLAT, SPIFF]}, actor=world_a.admin
        )


def test_multipliers_are_saved_from_the_form_and_shown_again(in_tenant_a, world_a, draft):
    client = client_for(world_a.admin.user)
    url = f"/alpha/incentives/versions/{draft.pk}/component/?component=0"
    response = client.post(
        url, _component_post(**_multipliers(("1.5", "new_business", ""), ("0.5", "", "Legacy")))
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.document["components"][0]["multipliers"] == [
        {"factor": "1.5", "deal_type": "new_business"},
        {"factor": "0.5", "product_line": "Legacy"},
    ]
    page = client.get(url)
    rows = page.context["multipliers"].initial
    assert rows == [
        {"factor": "1.5", "deal_type": "new_business", "product_line": ""},
        {"factor": "0.5", "deal_type": "", "product_line": "Legacy"},
    ]


def test_what_if_applies_the_multiplier_being_edited(in_tenant_a, world_a, draft):
    client = client_for(world_a.admin.user)
    response = client.post(
        f"/alpha/incentives/versions/{draft.pk}/what-if/?component=0",
        _component_post(**_multipliers(("1.5", "new_business", ""))),
    )
    preview = response.context["whatif"]["preview"]
    # The sample deals are new business: each commission line x 1.5
    # (50,000 x 2% = 1,000.00 -> 1,500.00; 10,000 x 8% = 800.00 -> 1,200.00;
    # 40,000 x 8% = 3,200.00 -> 4,800.00; 30,000 x 12% = 3,600.00 -> 5,400.00),
    # plus the SPIFF of 250.00 per new-business deal.
    assert [(line["explanation"], line["amount"]) for line in preview.lines] == [
        ("sample deal 1: 50,000.00 x 2% in band 0-50% x 1.5 (new business)", D("1500.00")),
        ("sample deal 1: 10,000.00 x 8% in band 50-100% x 1.5 (new business)", D("1200.00")),
        ("sample deal 2: 40,000.00 x 8% in band 50-100% x 1.5 (new business)", D("4800.00")),
        ("sample deal 2: 30,000.00 x 12% in band 100%+ x 1.5 (new business)", D("5400.00")),
        ("sample deal 1: SPIFF 250.00 per qualifying deal (new business)", D("250.00")),
        ("sample deal 2: SPIFF 250.00 per qualifying deal (new business)", D("250.00")),
    ]
    assert preview.total == D("13400.00")


def test_blank_multiplier_rows_remove_them_and_a_post_without_rows_keeps_them(
    in_tenant_a, world_a, draft
):
    client = client_for(world_a.admin.user)
    url = f"/alpha/incentives/versions/{draft.pk}/component/?component=0"
    client.post(url, _component_post(**_multipliers(("2", "", ""))))
    client.post(url, _component_post())  # a client that does not edit multipliers
    draft.refresh_from_db()
    assert draft.document["components"][0]["multipliers"] == [{"factor": "2"}]
    client.post(url, _component_post(**_multipliers()))
    draft.refresh_from_db()
    assert "multipliers" not in draft.document["components"][0]


def test_a_negative_factor_is_refused_beside_it_and_nothing_saved(in_tenant_a, world_a, draft):
    client = client_for(world_a.admin.user)
    before = draft.document
    response = client.post(
        f"/alpha/incentives/versions/{draft.pk}/component/?component=0",
        _component_post(**_multipliers(("-1", "", ""))),
    )
    assert response.status_code == 200
    assert response.context["multipliers"].forms[0].errors == {"factor": ["must not be negative"]}
    assert "Nothing was saved" in response.content.decode()
    draft.refresh_from_db()
    assert draft.document == before


def test_a_multiplier_without_its_factor_is_refused(in_tenant_a, world_a, draft):
    client = client_for(world_a.admin.user)
    response = client.post(
        f"/alpha/incentives/versions/{draft.pk}/component/?component=0",
        _component_post(**_multipliers(("", "renewal", ""))),
    )
    assert response.context["multipliers"].forms[0].errors == {
        "factor": ["A multiplier needs its factor."]
    }
    draft.refresh_from_db()
    assert "multipliers" not in draft.document["components"][0]


def test_delete_a_component_of_a_draft(in_tenant_a, world_a, draft):
    client = client_for(world_a.admin.user)
    page = client.get(f"/alpha/incentives/versions/{draft.pk}/component/?component=1")
    assert 'data-testid="delete-component"' in page.content.decode()
    response = client.post(
        f"/alpha/incentives/versions/{draft.pk}/component/delete/?component=1", follow=True
    )
    assert response.redirect_chain == [(f"/alpha/incentives/versions/{draft.pk}/", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        f"Deleted component new_logo from {draft}."
    ]
    draft.refresh_from_db()
    assert [c["key"] for c in draft.document["components"]] == ["bookings"]
    assert list(
        Component.objects.filter(tenant=world_a.tenant, version=draft).values_list("key", flat=True)
    ) == ["bookings"]


def test_the_last_component_is_not_deleted(in_tenant_a, world_a):
    with tenant_context(world_a.tenant):
        version = services.plan_version_create(
            world_a.tenant, source={**TIERED, "components": [FLAT]}, actor=world_a.admin
        )
    client = client_for(world_a.admin.user)
    response = client.post(
        f"/alpha/incentives/versions/{version.pk}/component/delete/?component=0", follow=True
    )
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Component bookings was not deleted: components: ")
    version.refresh_from_db()
    assert [c["key"] for c in version.document["components"]] == ["bookings"]


def test_an_active_versions_component_is_not_deleted(in_tenant_a, world_a):
    with tenant_context(world_a.tenant):
        active = services.plan_version_create(
            world_a.tenant,
            source={**TIERED, "components": [FLAT, SPIFF]},
            actor=world_a.admin,
            status="active",
        )
    client = client_for(world_a.admin.user)
    page = client.get(f"/alpha/incentives/versions/{active.pk}/component/?component=1")
    assert 'data-testid="delete-component"' not in page.content.decode()
    response = client.post(
        f"/alpha/incentives/versions/{active.pk}/component/delete/?component=1", follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Component new_logo was not deleted: component: Only a draft's components can be "
        f"deleted; {active} is active. Make a new draft from it first."
    ]
    active.refresh_from_db()
    assert [c["key"] for c in active.document["components"]] == ["bookings", "new_logo"]


@pytest.mark.parametrize("role", ["finance", "manager", "rep1"])
def test_only_admins_delete_components(in_tenant_a, world_a, draft, role):
    response = client_for(getattr(world_a, role).user).post(
        f"/alpha/incentives/versions/{draft.pk}/component/delete/?component=1"
    )
    assert response.status_code == 403
    draft.refresh_from_db()
    assert len(draft.document["components"]) == 2


def test_another_tenants_component_delete_is_404(world_a, world_b):
    with tenant_context(world_b.tenant):
        theirs = services.plan_version_create(
            world_b.tenant, source={**TIERED, "components": [FLAT, SPIFF]}, actor=world_b.admin
        )
    client = client_for(world_a.admin.user)
    response = client.post(f"/alpha/incentives/versions/{theirs.pk}/component/delete/?component=1")
    assert response.status_code == 404
    with tenant_context(world_b.tenant):
        theirs.refresh_from_db()
    assert len(theirs.document["components"]) == 2
