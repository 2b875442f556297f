"""Browser forms of the KPI pillar: per-tenant KPI settings and custom KPIs."""

from __future__ import annotations

from django import forms

from kpis.definitions import BUILT_IN
from kpis.models import UNIT_CHOICES, CustomKpi, Direction
from spm.forms import TenantScopedFormMixin
from spm.models import Role, Team
from spm.money import MONEY_KWARGS, QUANTITY_KWARGS


class KpiSettingValuesForm(forms.Form):
    """What a setting says, without its scope: the edit form of an existing
    setting (its KPI, role and team stay as they are)."""

    is_shown = forms.BooleanField(required=False, initial=True, label="Shown on dashboards")
    direction = forms.ChoiceField(choices=Direction.choices)
    target = forms.DecimalField(required=False, **QUANTITY_KWARGS)
    green_from = forms.DecimalField(
        required=False,
        **QUANTITY_KWARGS,
        label="Green from",
        help_text="Percent KPIs in %, e.g. 100 for attainment.",
    )
    amber_from = forms.DecimalField(required=False, **QUANTITY_KWARGS, label="Amber from")
    position = forms.IntegerField(required=False, min_value=0, initial=0)


class KpiSettingForm(TenantScopedFormMixin, KpiSettingValuesForm):
    """A new setting (or a replacement of the one with the same scope)."""

    kpi = forms.ChoiceField(label="KPI")
    role = forms.ChoiceField(
        choices=[("", "Every role"), *Role.choices], required=False, label="For role"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="Every team", label="For team"
    )
    field_order = ["kpi", "role", "team"]

    def __init__(
        self, *args: object, tenant: object, custom: list[CustomKpi], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["team"].queryset = Team.objects.filter(tenant=tenant)  # type: ignore[attr-defined]
        self.fields["kpi"].choices = [(k.key, k.label) for k in BUILT_IN] + [  # type: ignore[attr-defined]
            (c.value_key, c.name) for c in custom
        ]


class CustomKpiForm(forms.Form):
    key = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]*$",
        max_length=60,
        error_messages={"invalid": "Use lowercase letters, digits and _."},
    )
    name = forms.CharField(max_length=120)
    formula = forms.CharField(
        max_length=500,
        help_text="Built-in measures with + - * / ( ), numbers, min(), max(), abs(); "
        "e.g. bookings / activities",
    )
    unit = forms.ChoiceField(choices=UNIT_CHOICES)
    direction = forms.ChoiceField(choices=Direction.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ForecastCallForm(forms.Form):
    """A call: a rep's amount, or a manager's adjustment, with a note."""

    member = forms.IntegerField(widget=forms.HiddenInput, required=False)
    amount = forms.DecimalField(required=False, **MONEY_KWARGS, label="Call")
    adjustment = forms.DecimalField(required=False, **MONEY_KWARGS, label="Adjustment")
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)
