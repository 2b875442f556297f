"""Single sign-on with OpenID Connect, configured per tenant (README, "Single sign-on").

The tenant's admin gives the provider's issuer, the client id and secret SPM
is registered with, the email domains allowed in, the role new people get,
and whether SSO is required. The flow is mozilla-django-oidc's
authorization-code flow with PKCE and a nonce, read per tenant instead of
from settings:

- ``/<tenant>/integrations/sso/login/`` (``SsoLoginView``) keeps the tenant in the session and
  sends the browser to the provider's authorization endpoint (from the
  issuer's discovery document);
- the provider returns to ``/accounts/sso/callback/`` (``SsoCallbackView``),
  where ``TenantOidcBackend`` exchanges the code, checks the ID token against
  the provider's keys and reads the email: a member of the tenant with that
  email (any case) signs in; a new email of an allowed domain becomes a member
  with the default role; any other is refused with a page saying why, and
  nothing is created.

With SSO required, ``SsoRequiredMiddleware`` sends a signed-in user whose
session did not come through the tenant's SSO to it before any page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from django.contrib import auth
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from integrations.models import SsoConfig
from spm import services
from spm.models import Membership, Tenant, User
from spm.tenancy.context import tenant_context

SESSION_TENANT = "sso_tenant_id"
SESSION_SIGNED_IN = "sso_tenant_ids"
CALLBACK_URL_NAME = "sso-callback"
DISCOVERY_CACHE_SECONDS = 3600


class SsoError(Exception):
    """Why a sign-in through SSO is refused (the page shows the message)."""


# Configuration ---------------------------------------------------------------------------


def _domains(text_or_list: Any) -> list[str]:
    items = text_or_list.split(",") if isinstance(text_or_list, str) else text_or_list
    return sorted({item.strip().lower().lstrip("@") for item in items if item.strip()})


def sso_config_save(
    tenant: Tenant,
    *,
    actor: Membership,
    issuer: str,
    client_id: str,
    client_secret: str,
    allowed_domains: Any,
    default_role: str,
    required: bool,
) -> SsoConfig:
    """Create or change the tenant's OpenID Connect configuration. A blank
    ``client_secret`` keeps the stored one. Raises ``ValidationError`` naming
    the field (an issuer whose discovery document cannot be read, no domain)."""
    domains = _domains(allowed_domains)
    if not domains:
        raise ValidationError({"allowed_domains": "Give at least one email domain."})
    issuer = issuer.rstrip("/")
    provider_metadata(issuer, refresh=True)
    with transaction.atomic():
        config = SsoConfig.objects.select_for_update().filter(tenant=tenant).first()
        if config is None:
            if not client_secret:
                raise ValidationError({"client_secret": "Give the client secret."})
            config = SsoConfig(tenant=tenant)
        config.issuer, config.client_id = issuer, client_id
        config.client_secret = client_secret or config.client_secret
        config.allowed_domains, config.default_role, config.required = (
            domains,
            default_role,
            required,
        )
        config.full_clean(exclude=["tenant"])
        config.save()
        transaction.on_commit(lambda: cache.delete(_required_key(tenant)))
        services.audit_record(
            tenant,
            actor=actor.user,
            action="sso.configure",
            obj=config,
            data={"issuer": issuer, "allowed_domains": domains, "required": required},
        )
    return config


def _required_key(tenant: Tenant) -> str:
    return f"sso-required:{tenant.pk}"


def sso_required(tenant: Tenant) -> bool:
    """Whether ``tenant`` requires SSO. Asked on every page, so the answer is
    cached for five minutes; ``sso_config_save`` drops it when it commits."""
    required = cache.get(_required_key(tenant))
    if required is None:
        required = SsoConfig.objects.filter(tenant=tenant, required=True).exists()
        cache.set(_required_key(tenant), required, timeout=300)
    return bool(required)


def provider_metadata(issuer: str, *, refresh: bool = False) -> dict[str, Any]:
    """The issuer's OpenID Connect discovery document (cached an hour).
    Raises ``ValidationError`` on ``issuer`` when it cannot be read or names
    another issuer."""
    key = f"sso:discovery:{issuer}"
    metadata = None if refresh else cache.get(key)
    if metadata is None:
        url = f"{issuer}/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=10)
            response.raise_for_status()
            metadata = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ValidationError(
                {"issuer": f"No OpenID Connect discovery document at {url}: {exc}"}
            ) from exc
        if str(metadata.get("issuer", "")).rstrip("/") != issuer:
            raise ValidationError(
                {"issuer": f"{url} names the issuer {metadata.get('issuer')!r}, not {issuer!r}."}
            )
        cache.set(key, metadata, DISCOVERY_CACHE_SECONDS)
    return metadata


def _settings_for(config: SsoConfig) -> dict[str, Any]:
    metadata = provider_metadata(config.issuer)
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": metadata["authorization_endpoint"],
        "OIDC_OP_TOKEN_ENDPOINT": metadata["token_endpoint"],
        "OIDC_OP_USER_ENDPOINT": metadata["userinfo_endpoint"],
        "OIDC_OP_JWKS_ENDPOINT": metadata["jwks_uri"],
        "OIDC_RP_CLIENT_ID": config.client_id,
        "OIDC_RP_CLIENT_SECRET": config.client_secret,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_SCOPES": "openid email profile",
        "OIDC_USE_PKCE": True,
        "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
    }


def _settings_reader(values: dict[str, Any]) -> Callable[..., Any]:
    def get_settings(attr: str, *args: Any) -> Any:
        return values[attr] if attr in values else import_from_settings(attr, *args)

    return get_settings


# Views and backend -----------------------------------------------------------------------


class SsoLoginView(OIDCAuthenticationRequestView):
    """``/<tenant>/integrations/sso/login/``: off to the tenant's provider (404
    when it has no SSO)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Only GET starts a sign-in; anything else answers as an unknown page would.
        raise Http404("Not found.")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            raise Http404("Not found.")
        config = SsoConfig.objects.filter(tenant=tenant).first()
        if config is None:
            raise Http404("Not found.")
        values = _settings_for(config)
        self.get_settings = _settings_reader(values)  # type: ignore[method-assign]
        self.OIDC_OP_AUTH_ENDPOINT = values["OIDC_OP_AUTHORIZATION_ENDPOINT"]
        self.OIDC_RP_CLIENT_ID = config.client_id
        request.session[SESSION_TENANT] = tenant.pk
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """``/accounts/sso/callback/``: signs the user in, or shows why not."""

    @property
    def success_url(self) -> str:
        tenant = Tenant.objects.get(pk=self.request.session[SESSION_TENANT])
        return reverse("tenant-home", kwargs={"tenant_slug": tenant.slug})

    def login_success(self) -> HttpResponse:
        tenant_id = self.request.session.get(SESSION_TENANT)
        response = super().login_success()
        signed_in = set(self.request.session.get(SESSION_SIGNED_IN, []))
        self.request.session[SESSION_SIGNED_IN] = sorted(signed_in | {tenant_id})
        self.request.session[SESSION_TENANT] = tenant_id
        return response

    def login_failure(self) -> HttpResponse:
        reason = getattr(self.request, "sso_refusal", "") or (
            "The sign-in could not be completed. Start again from your company's sign-in link."
        )
        return render(self.request, "integrations/sso_refused.html", {"reason": reason}, status=403)


class TenantOidcBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend reading the tenant's configuration (the
    tenant kept in the session by ``SsoLoginView``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.UserModel = User

    def authenticate(self, request: Any, **kwargs: Any) -> User | None:  # type: ignore[override]
        tenant_id = request.session.get(SESSION_TENANT) if request is not None else None
        if not tenant_id or not request.GET.get("code"):
            return None
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return None
        with tenant_context(tenant):
            config = SsoConfig.objects.filter(tenant=tenant).first()
            if config is None:
                return None
            self.tenant, self.config = tenant, config
            values = _settings_for(config)
            self.get_settings = _settings_reader(values)  # type: ignore[method-assign]
            for name in (
                "OIDC_OP_TOKEN_ENDPOINT",
                "OIDC_OP_USER_ENDPOINT",
                "OIDC_OP_JWKS_ENDPOINT",
                "OIDC_RP_CLIENT_ID",
                "OIDC_RP_CLIENT_SECRET",
                "OIDC_RP_SIGN_ALGO",
            ):
                setattr(self, name, values[name])
            self.OIDC_RP_IDP_SIGN_KEY = None
            try:
                return super().authenticate(request, **kwargs)
            except SsoError as exc:
                request.sso_refusal = str(exc)
                return None

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        email = str(claims.get("email") or "").strip().lower()
        if not email or "@" not in email:
            raise SsoError("Your identity provider did not send an email address.")
        domain = email.rsplit("@", 1)[1]
        if domain not in self.config.allowed_domains:
            allowed = ", ".join(self.config.allowed_domains)
            raise SsoError(
                f"{email} may not sign in to {self.tenant.name}: only addresses at {allowed} "
                "are allowed. No account was created."
            )
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        email = str(claims["email"]).strip()
        return User.objects.filter(
            pk__in=Membership.objects.filter(
                tenant=self.tenant, is_active=True, user__email__iexact=email
            ).values("user_id")
        )

    def create_user(self, claims: dict[str, Any]) -> User:
        membership = services.membership_add(
            self.tenant,
            email=str(claims["email"]).strip().lower(),
            first_name=str(claims.get("given_name") or ""),
            last_name=str(claims.get("family_name") or ""),
            role=self.config.default_role,
        )
        return membership.user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        return user


class SsoRequiredMiddleware:
    """A tenant that requires SSO: a signed-in user whose session did not
    come through its SSO is sent there before any of its pages."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and request.user.is_authenticated
            and tenant.pk not in request.session.get(SESSION_SIGNED_IN, [])
            and not request.path.startswith(("/api/", f"/{tenant.slug}/integrations/sso/login/"))
            and sso_required(tenant)
        ):
            auth.logout(request)
            return redirect("integrations:sso-login", tenant_slug=tenant.slug)
        return self.get_response(request)
