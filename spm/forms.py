"""Browser forms of the core. Related-field choices are scoped to the tenant."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from spm.models import Membership, Role, Team, Tenant
from spm.versioning import STALE_RECORD, current_version, etag_for

VERSION_FIELD = "version"


def form_errors_add(form: forms.BaseForm, exc: ValidationError, *, prefix: str = "") -> None:
    """Put a service's ValidationError on ``form``: each message beside the
    field it names (``prefix`` + the service's field name, when the form
    calls its fields differently), the rest at the top of the form."""
    named = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, errors in named.items():
        name = f"{prefix}{field}"
        form.add_error(name if name in form.fields else None, errors)


def version_field(instance: Any) -> forms.CharField:
    """The hidden field an edit form carries: ``instance``'s version when the
    page was rendered (``spm.versioning``, the API's ETag)."""
    return forms.CharField(widget=forms.HiddenInput, required=False, initial=etag_for(instance))


def version_is_current(form: forms.BaseForm, instance: Any) -> bool:
    """Whether ``instance`` is still as it was when ``form`` was rendered; when
    not, the form says so (``STALE_RECORD``) and nothing should be saved.
    Locks the row until the transaction ends. A post that carries no version
    (not from one of SPM's forms) is not checked."""
    sent = form.data.get(form.add_prefix(VERSION_FIELD))
    if not sent or sent == current_version(instance):
        return True
    form.add_error(None, STALE_RECORD)
    return False


class TenantScopedFormMixin:
    """Sets every ModelChoiceField's queryset to the current tenant's rows.

    A queryset built when the form class is defined has no tenant in context,
    so it is rebuilt here, per form instance.
    """

    def scope_choices(self, tenant: Tenant) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            if isinstance(field, forms.ModelChoiceField) and field.queryset is not None:
                model = field.queryset.model
                field.queryset = model.objects.filter(tenant=tenant)


class TenantSettingsForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = [
            "name",
            "currency",
            "locale",
            "fiscal_year_start_month",
            "time_zone",
            "stalled_after_days",
            "dispute_window_days",
        ]
        widgets = {
            "fiscal_year_start_month": forms.Select(
                choices=[
                    (i, m)
                    for i, m in enumerate(
                        [
                            "",
                            "January",
                            "February",
                            "March",
                            "April",
                            "May",
                            "June",
                            "July",
                            "August",
                            "September",
                            "October",
                            "November",
                            "December",
                        ]
                    )
                    if i
                ]
            )
        }


class MemberAddForm(TenantScopedFormMixin, forms.Form):
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REP)
    title = forms.CharField(max_length=120, required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    send_invite = forms.BooleanField(
        required=False, initial=True, label="Email an invitation to set a password"
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope_choices(tenant)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date cannot be before the start date.")
        return data


class MemberEditForm(TenantScopedFormMixin, forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role", "title", "team", "start_date", "end_date", "is_active", "employee_id"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope_choices(tenant)


class ManagerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.get_role_display()})"


class TeamChoiceField(forms.ModelChoiceField):
    """Teams indented by depth, so the select reads as the tree."""

    def label_from_instance(self, obj: Any) -> str:
        return ("— " * obj.depth) + obj.name


class TeamForm(TenantScopedFormMixin, forms.Form):
    name = forms.CharField(max_length=120)
    parent = TeamChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="(top level)"
    )
    manager = ManagerChoiceField(
        queryset=Membership.objects.none(), required=False, empty_label="(no manager)"
    )

    def __init__(self, *args: Any, tenant: Tenant, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope_choices(tenant)
        manager_field = cast(forms.ModelChoiceField, self.fields["manager"])
        manager_field.queryset = (
            Membership.objects.filter(tenant=tenant, is_active=True)
            .exclude(role=Role.REP)
            .select_related("user")
        )
        parent_field = cast(forms.ModelChoiceField, self.fields["parent"])
        if team is not None:
            parent_field.queryset = Team.objects.filter(tenant=tenant).exclude(
                path__startswith=team.path
            )
