"""The browser's edit forms refuse a stale save like the API's If-Match: a hidden
version field, and "changed by someone else" when the record moved on."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from goals.models import Goal, Quota
from incentives.models import PlanVersion
from incentives.services import plan_version_create
from pipeline.models import Deal
from spm.tenancy.context import tenant_context
from spm.versioning import STALE_RECORD, etag_for
from tests.conftest import client_for
from tests.goals.factories import GoalFactory, QuotaFactory, period
from tests.pipeline.factories import DealFactory

pytestmark = pytest.mark.django_db


def _post_data(form) -> dict[str, str]:
    """What the browser would send back for ``form`` as rendered."""
    data = {}
    for field in form:
        value = field.value()
        if isinstance(value, list):
            data[field.html_name] = value
        elif isinstance(value, bool):
            if value:
                data[field.html_name] = "on"
        else:
            data[field.html_name] = "" if value is None else str(value)
    return data


def _formset_data(formset) -> dict[str, str]:
    data = {}
    for form in [formset.management_form, *formset.forms]:
        data.update(_post_data(form))
    return data


def test_a_stale_deal_edit_is_refused_with_changed_by_someone_else(world_a):
    with tenant_context(world_a.tenant):
        deal = DealFactory(tenant=world_a.tenant, actor=world_a.rep1, owner=world_a.rep1)
    client = client_for(world_a.rep1.user)
    page_url = reverse("pipeline:deal-detail", args=["alpha", deal.pk])
    page = client.get(page_url)
    with tenant_context(world_a.tenant):
        assert page.context["form"]["version"].value() == etag_for(Deal.objects.get(pk=deal.pk))
    assert '<input type="hidden" name="version"' in page.content.decode()
    data = {**_post_data(page.context["form"]), **_formset_data(page.context["split_formset"])}
    data["name"] = "Mine now"
    with tenant_context(world_a.tenant):
        Deal.objects.filter(pk=deal.pk).update(name="Theirs")

    stale = client.post(page_url, data)

    assert stale.status_code == 200
    assert STALE_RECORD in html.unescape(stale.content.decode())
    with tenant_context(world_a.tenant):
        assert Deal.objects.get(pk=deal.pk).name == "Theirs"


def test_a_current_deal_edit_saves(world_a):
    with tenant_context(world_a.tenant):
        deal = DealFactory(tenant=world_a.tenant, actor=world_a.rep1, owner=world_a.rep1)
    client = client_for(world_a.rep1.user)
    page_url = reverse("pipeline:deal-detail", args=["alpha", deal.pk])
    page = client.get(page_url)
    data = {**_post_data(page.context["form"]), **_formset_data(page.context["split_formset"])}
    data["name"] = "Mine now"

    saved = client.post(page_url, data)

    assert (saved.status_code, saved["Location"]) == (302, page_url)
    with tenant_context(world_a.tenant):
        assert Deal.objects.get(pk=deal.pk).name == "Mine now"


def test_a_stale_goal_edit_is_refused(world_a):
    with tenant_context(world_a.tenant):
        goal = GoalFactory(tenant=world_a.tenant, actor=world_a.admin)
    client = client_for(world_a.admin.user)
    edit_url = reverse("goals:goal-edit", args=["alpha", goal.pk])
    data = _post_data(client.get(edit_url).context["form"])
    data["description"] = "Mine"
    with tenant_context(world_a.tenant):
        Goal.objects.filter(pk=goal.pk).update(description="Theirs")

    stale = client.post(edit_url, data)

    assert stale.status_code == 200
    assert STALE_RECORD in html.unescape(stale.content.decode())
    with tenant_context(world_a.tenant):
        assert Goal.objects.get(pk=goal.pk).description == "Theirs"


def test_a_stale_quota_cell_is_refused_beside_the_cell(world_a):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)
        quota = QuotaFactory(
            tenant=world_a.tenant, actor=world_a.admin, period=jan, membership=world_a.rep1
        )
        shown = etag_for(quota)
        Quota.objects.filter(pk=quota.pk).update(amount=Decimal("5.00"))
    client = client_for(world_a.manager.user)
    cell = {"subject": f"m{world_a.rep1.pk}", "period": jan.pk, "measure": "bookings"}

    stale = client.post(
        reverse("goals:quota-cell", args=["alpha"]), {**cell, "amount": "7", "version": shown}
    )
    fresh_version = re.search(r'"version": "([^"]*)"', stale.content.decode()).group(1)
    retried = client.post(
        reverse("goals:quota-cell", args=["alpha"]),
        {**cell, "amount": "7", "version": fresh_version.encode().decode("unicode_escape")},
    )

    assert "Someone else changed this quota since the grid was shown." in html.unescape(
        stale.content.decode()
    )
    assert retried.status_code == 200
    with tenant_context(world_a.tenant):
        assert Quota.objects.get(pk=quota.pk).amount == Decimal("7.00")


def test_a_stale_plan_document_edit_is_refused(world_a):
    with tenant_context(world_a.tenant):
        version = plan_version_create(
            world_a.tenant,
            source={
                "schema_version": 1,
                "name": "AE plan",
                "effective_from": "2027-01-01",
                "components": [
                    {
                        "key": "bookings",
                        "measure": "credited_bookings",
                        "rate_table_on": "amount",
                        "rate_table": [{"from": "0", "rate": "5"}],
                    }
                ],
            },
            actor=world_a.admin,
        )
    client = client_for(world_a.admin.user)
    edit_url = reverse("incentives:document-edit", args=["alpha", version.pk])
    form = client.get(edit_url).context["form"]
    data = {
        "text": form["text"].value().replace("rate: '5'", "rate: '7'"),
        "version": form["version"].value(),
    }
    with tenant_context(world_a.tenant):
        PlanVersion.objects.filter(pk=version.pk).update(effective_to="2027-12-31")

    stale = client.post(edit_url, data)

    assert stale.context["form"].non_field_errors() == [STALE_RECORD]
    with tenant_context(world_a.tenant):
        stored = PlanVersion.objects.get(pk=version.pk).document
    assert stored["components"][0]["rate_table"][0]["rate"] == "5"
