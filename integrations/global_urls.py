"""URLs of the integration platform outside any tenant: the OpenID Connect
callback, which the tenant's provider returns to (the tenant is in the session)."""

from django.urls import path

from integrations.sso import SsoCallbackView

urlpatterns = [
    path("accounts/sso/callback/", SsoCallbackView.as_view(), name="sso-callback"),
]
