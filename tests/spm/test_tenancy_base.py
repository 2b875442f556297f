"""The tenancy bases: the tenant queryset is built from ``model`` and its
filter is applied again after the scope hook, which can only narrow it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.test import RequestFactory

from spm.api.base import TenantReadOnlyViewSet
from spm.models import Membership, Team
from spm.reach import Reach
from spm.tenancy.context import tenant_context
from spm.tenancy.views import TenantViewMixin


class WideningViewSet(TenantReadOnlyViewSet):
    """A hook that tries to widen the queryset to every tenant."""

    model = Team

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return Team.unscoped().order_by("name")


class WrongModelView(TenantViewMixin):
    model = Team

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        return Membership.objects.all()


def _prepared(view, world):
    view.tenant, view.membership, view.reach = world.tenant, world.admin, Reach(world.admin)
    view.request = RequestFactory().get("/")
    return view


def test_the_base_applies_the_tenant_filter_again_after_the_hook(world_a, world_b):
    view = _prepared(WideningViewSet(), world_a)
    with tenant_context(world_a.tenant):
        qs = view.get_queryset()
        sql, params = qs.query.sql_with_params()
        names = list(qs.values_list("name", flat=True))
    # The application wall, not only RLS: the SQL itself names tenant A.
    assert '"spm_team"."tenant_id" = %s' in sql
    assert world_a.tenant.pk in params
    assert world_b.tenant.pk not in params
    assert names == ["East", "Sales", "West"]


def test_a_scope_hook_must_narrow_the_model_it_is_given(world_a):
    view = _prepared(WrongModelView(), world_a)
    with tenant_context(world_a.tenant), pytest.raises(ImproperlyConfigured) as raised:
        view.get_queryset()
    assert str(raised.value) == (
        "WrongModelView.scope_queryset() returned Membership rows; "
        "it must narrow the Team queryset it is given."
    )


def test_a_viewset_declares_its_model_not_a_queryset():
    with pytest.raises(ImproperlyConfigured) as raised:

        class QuerysetViewSet(TenantReadOnlyViewSet):
            queryset = Team.unscoped()

    assert str(raised.value) == "QuerysetViewSet sets queryset; declare model = <Model> instead."


def test_a_view_cannot_override_get_queryset():
    with pytest.raises(ImproperlyConfigured) as raised:

        class OverridingView(TenantViewMixin):
            def get_queryset(self) -> QuerySet:
                return Team.unscoped()

    assert str(raised.value) == (
        "OverridingView overrides get_queryset(); override scope_queryset() instead."
    )
