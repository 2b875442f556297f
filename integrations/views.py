"""Integration pages: the tenant's API tokens (admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView, View

from integrations import selectors, services
from integrations.forms import ApiTokenForm
from integrations.models import ApiToken
from spm.permissions import ADMIN
from spm.tenancy.views import TenantViewMixin

# Where a new token's key waits for the page it is shown on (once: it is popped).
ISSUED_KEY_SESSION = "integrations.issued_token"


class ApiTokenListView(TenantViewMixin, TemplateView):
    """Create, list and revoke API tokens. A new token's key is shown once, on
    the page the creation redirects to (so a reload neither shows it again nor
    creates another token)."""

    template_name = "integrations/token_list.html"
    model = ApiToken
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", ApiTokenForm())
        context["issued"] = self.request.session.pop(ISSUED_KEY_SESSION, None)
        context["tokens"] = selectors.api_tokens_for(self.tenant)
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                issued = services.api_token_create(
                    self.tenant,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at(),
                    actor=self.membership,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                request.session[ISSUED_KEY_SESSION] = {
                    "name": issued.token.name,
                    "key": issued.key,
                }
                return HttpResponseRedirect(
                    reverse("integrations:token-list", args=[self.tenant.slug])
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ApiTokenRevokeView(TenantViewMixin, View):
    model = ApiToken
    allowed_roles = ADMIN

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        services.api_token_revoke(self.tenant, token=token, actor=self.membership)
        messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
        return HttpResponseRedirect(reverse("integrations:token-list", args=[self.tenant.slug]))
