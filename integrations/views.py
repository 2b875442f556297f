"""Integration pages: the tenant's API tokens and webhooks (admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView, View

from integrations import selectors, services, sso
from integrations.forms import ApiTokenForm, SsoConfigForm, WebhookSubscriptionForm
from integrations.models import ApiToken, SsoConfig, WebhookDelivery, WebhookSubscription
from integrations.webhooks import services as webhooks
from spm.forms import form_errors_add
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


DELIVERIES_SHOWN = 50


class WebhookListView(TenantViewMixin, TemplateView):
    """The tenant's webhook subscriptions and the form that adds one."""

    template_name = "integrations/webhook_list.html"
    model = WebhookSubscription
    allowed_roles = ADMIN

    def scope_queryset(self, qs: QuerySet) -> QuerySet:
        failed = Q(deliveries__status=WebhookDelivery.Status.FAILED)
        return qs.annotate(
            delivery_count=Count("deliveries"), failed_count=Count("deliveries", filter=failed)
        ).order_by("created_at", "id")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", WebhookSubscriptionForm())
        context["subscriptions"] = list(self.get_queryset())
        context["active"] = "webhooks"
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = WebhookSubscriptionForm(request.POST)
        if form.is_valid():
            try:
                subscription = webhooks.webhook_subscribe(
                    self.tenant, actor=self.membership, **form.cleaned_data
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, f"Subscribed {subscription.url}.")
                return redirect(
                    "integrations:webhook-detail", tenant_slug=self.tenant.slug, pk=subscription.pk
                )
        return self.render_to_response(self.get_context_data(form=form), status=400)


class WebhookDetailView(TenantViewMixin, TemplateView):
    """One subscription: its secret, its delivery log with every attempt,
    replay, resume, edit and delete."""

    template_name = "integrations/webhook_detail.html"
    model = WebhookSubscription
    allowed_roles = ADMIN

    def get_subscription(self) -> WebhookSubscription:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        subscription = kwargs.get("subscription") or self.get_subscription()
        context["subscription"] = subscription
        context.setdefault(
            "form",
            WebhookSubscriptionForm(
                initial={
                    "url": subscription.url,
                    "description": subscription.description,
                    "event_types": subscription.event_types,
                }
            ),
        )
        context["deliveries"] = list(
            WebhookDelivery.objects.filter(tenant=self.tenant, subscription=subscription)
            .prefetch_related("log")
            .order_by("-created_at", "-id")[:DELIVERIES_SHOWN]
        )
        context["active"] = "webhooks"
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        subscription = self.get_subscription()
        slug = self.tenant.slug
        if "replay" in request.POST:
            delivery = get_object_or_404(
                WebhookDelivery.objects.filter(tenant=self.tenant, subscription=subscription),
                pk=request.POST["replay"],
            )
            webhooks.webhook_delivery_replay(self.tenant, delivery=delivery, actor=self.membership)
            messages.success(request, f"Message {delivery.message_id} is being sent again.")
        elif "resume" in request.POST:
            webhooks.webhook_resume(self.tenant, subscription=subscription, actor=self.membership)
            messages.success(request, "The subscription is active again.")
        elif "delete" in request.POST:
            webhooks.webhook_delete(self.tenant, subscription=subscription, actor=self.membership)
            messages.success(request, f"Unsubscribed {subscription.url}.")
            return redirect("integrations:webhook-list", tenant_slug=slug)
        else:
            return self._update(request, subscription)
        return redirect("integrations:webhook-detail", tenant_slug=slug, pk=subscription.pk)

    def _update(self, request: HttpRequest, subscription: WebhookSubscription) -> HttpResponse:
        form = WebhookSubscriptionForm(request.POST)
        if form.is_valid():
            try:
                webhooks.webhook_update(
                    self.tenant,
                    subscription=subscription,
                    actor=self.membership,
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Subscription saved.")
                return redirect(
                    "integrations:webhook-detail", tenant_slug=self.tenant.slug, pk=subscription.pk
                )
        context = self.get_context_data(subscription=subscription, form=form)
        return self.render_to_response(context, status=400)


class SsoSettingsView(TenantViewMixin, TemplateView):
    """The tenant's OpenID Connect configuration (admins)."""

    template_name = "integrations/sso.html"
    model = SsoConfig
    allowed_roles = ADMIN

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        config = self.get_queryset().first()
        if "form" not in context:
            initial = (
                {
                    "issuer": config.issuer,
                    "client_id": config.client_id,
                    "allowed_domains": ", ".join(config.allowed_domains),
                    "default_role": config.default_role,
                    "required": config.required,
                }
                if config
                else {}
            )
            context["form"] = SsoConfigForm(initial=initial)
        context["config"] = config
        context["login_url"] = self.request.build_absolute_uri(
            reverse("integrations:sso-login", kwargs={"tenant_slug": self.tenant.slug})
        )
        context["callback_url"] = self.request.build_absolute_uri(reverse("sso-callback"))
        context["active"] = "sso"
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = SsoConfigForm(request.POST)
        if form.is_valid():
            try:
                sso.sso_config_save(self.tenant, actor=self.membership, **form.cleaned_data)
            except ValidationError as exc:
                form_errors_add(form, exc)
            else:
                messages.success(request, "Single sign-on saved.")
                return redirect("integrations:sso", tenant_slug=self.tenant.slug)
        return self.render_to_response(self.get_context_data(form=form), status=400)
