"""Browser forms of the integrations pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from integrations.models import WebhookEvent
from spm.api.scopes import Scope
from spm.models import Role

EXPIRY_CHOICES = [(30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="Who uses it, e.g. “CRM sync” or “BI export”.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.TypedChoiceField(
        label="Expires in", choices=EXPIRY_CHOICES, coerce=int, initial=90
    )

    def expires_at(self) -> dt.datetime:
        days: Any = self.cleaned_data["expires_in_days"]
        return timezone.now() + dt.timedelta(days=int(days))


class WebhookSubscriptionForm(forms.Form):
    url = forms.URLField(
        label="Endpoint URL",
        max_length=500,
        assume_scheme="https",
        help_text="HTTPS, reachable from the internet (private addresses are refused).",
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )


class SsoConfigForm(forms.Form):
    issuer = forms.URLField(
        label="Issuer",
        max_length=300,
        assume_scheme="https",
        help_text="The provider's issuer URL; SPM reads its /.well-known/openid-configuration.",
    )
    client_id = forms.CharField(label="Client id", max_length=200)
    client_secret = forms.CharField(
        label="Client secret",
        max_length=500,
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave blank to keep the stored secret.",
    )
    allowed_domains = forms.CharField(
        label="Allowed email domains",
        max_length=1000,
        help_text="Comma-separated, e.g. example.com, example.co.uk. Other addresses are refused.",
    )
    default_role = forms.ChoiceField(
        label="Role of people new to SPM", choices=Role.choices, initial=Role.REP
    )
    required = forms.BooleanField(label="Require single sign-on for every member", required=False)
