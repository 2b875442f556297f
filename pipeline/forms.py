"""Browser forms of the pipeline pillar. Related-field choices are scoped to
the tenant (and owners to the member's reach); rules live in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db.models import Q

from pipeline import sync
from pipeline.models import (
    Account,
    ActivityKind,
    Deal,
    ExchangeRate,
    ForecastCategory,
    ImportKind,
    Stage,
)
from pipeline.services import DEAL_FIELDS
from spm.forms import VERSION_FIELD, TenantScopedFormMixin, version_field
from spm.models import FiscalPeriod, Membership, PeriodKind, Tenant
from spm.money import PERCENT_KWARGS, RATE_KWARGS
from spm.reach import Reach

DATE = forms.DateInput(attrs={"type": "date"})


class MemberChoiceField(forms.ModelChoiceField):
    """Members by display name."""

    def label_from_instance(self, obj: Any) -> str:
        return cast(Membership, obj).display_name


class StageChoiceField(forms.ModelChoiceField):
    """Stages as "Pipeline · Stage"."""

    def label_from_instance(self, obj: Any) -> str:
        stage = cast(Stage, obj)
        return f"{stage.pipeline.name} · {stage.name}"


class DealForm(TenantScopedFormMixin, forms.ModelForm):
    """Create or edit a deal. Owners are the members the user may assign;
    stages are the active ones (plus the deal's current stage)."""

    close_date = forms.DateField(
        required=False, widget=DATE, help_text="For won or lost deals; defaults to today."
    )
    probability = forms.DecimalField(
        required=False,
        **PERCENT_KWARGS,
        min_value=0,
        max_value=100,
        help_text="Percent; empty takes the stage's default.",
    )
    forecast_category = forms.ChoiceField(
        choices=[("", "Stage default"), *ForecastCategory.choices], required=False
    )
    exchange_rate = forms.DecimalField(
        required=False,
        **RATE_KWARGS,
        help_text=(
            "Only for another currency: tenant currency per unit. "
            "Empty: the rate table's rate for the close month."
        ),
    )

    class Meta:
        model = Deal
        fields = [f for f in DEAL_FIELDS if f not in ("pipeline", "external_id", "created_on")]
        widgets = {"expected_close_date": DATE}
        field_classes = {"owner": MemberChoiceField, "stage": StageChoiceField}

    def __init__(self, *args: Any, tenant: Tenant, reach: Reach, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope_choices(tenant)
        owner = cast(forms.ModelChoiceField, self.fields["owner"])
        owner.queryset = Membership.objects.filter(
            reach.members(), tenant=tenant, is_active=True
        ).select_related("user")
        stage = cast(forms.ModelChoiceField, self.fields["stage"])
        current = self.instance.stage_id if self.instance.pk else None
        stage.queryset = (
            Stage.objects.filter(tenant=tenant, pipeline__is_active=True)
            .filter(models_q_active_or(current))
            .select_related("pipeline")
            .order_by("pipeline__position", "position")
        )
        account = cast(forms.ModelChoiceField, self.fields["account"])
        account.queryset = Account.objects.filter(tenant=tenant).order_by("name")
        self.fields["currency"].required = False
        self.fields["currency"].initial = tenant.currency
        if not self.instance.pk:
            self.initial.setdefault("currency", tenant.currency)
            self.initial.setdefault("owner", reach.pk)
        else:
            self.fields[VERSION_FIELD] = version_field(self.instance)

    def service_kwargs(self) -> dict[str, Any]:
        """Fields for the deal services. Probability and forecast category go
        only when the user changed them, so a new stage brings its defaults."""
        data = dict(self.cleaned_data)
        data.pop(VERSION_FIELD, None)
        for name in ("probability", "forecast_category", "exchange_rate", "close_date"):
            if data.get(name) in (None, ""):
                data.pop(name, None)
        if self.instance.pk:
            for name in ("probability", "forecast_category"):
                if name not in self.changed_data:
                    data.pop(name, None)
        return data


def models_q_active_or(stage_id: int | None) -> Q:
    """Active stages, plus the deal's current stage even when retired."""
    return Q(is_active=True) | Q(pk=stage_id) if stage_id else Q(is_active=True)


class SplitForm(forms.Form):
    member = MemberChoiceField(queryset=Membership.objects.none(), required=False)
    percent = forms.DecimalField(
        required=False, **PERCENT_KWARGS, min_value=Decimal("0.01"), max_value=100
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        member = cast(forms.ModelChoiceField, self.fields["member"])
        member.queryset = Membership.objects.filter(tenant=tenant, is_active=True).select_related(
            "user"
        )


class BaseSplitFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        self.tenant = tenant
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"tenant": self.tenant}

    def pairs(self) -> list[tuple[Membership, Decimal]]:
        return [
            (f.cleaned_data["member"], f.cleaned_data["percent"])
            for f in self.forms
            if f.cleaned_data.get("member") and f.cleaned_data.get("percent")
        ]


# formset_factory returns a subclass of ``formset``; the stubs widen it to BaseFormSet.
SplitFormSet = cast(
    "type[BaseSplitFormSet]",
    forms.formset_factory(SplitForm, formset=BaseSplitFormSet, extra=0, max_num=8),
)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    occurred_on = forms.DateField(widget=DATE)
    subject = forms.CharField(max_length=200, required=False)
    outcome = forms.CharField(max_length=120, required=False)


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "probability", "forecast_category", "is_won", "is_lost"]


class ExchangeRateForm(forms.ModelForm):
    """A month's rate; months are the tenant's fiscal months."""

    class Meta:
        model = ExchangeRate
        fields = ["currency", "period", "rate"]
        labels = {"period": "Month", "rate": "Rate"}

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        period = cast(forms.ModelChoiceField, self.fields["period"])
        period.queryset = FiscalPeriod.objects.filter(
            tenant=tenant, kind=PeriodKind.MONTH
        ).order_by("start")
        self.fields["currency"].widget.attrs.update(
            {"maxlength": 3, "size": 4, "placeholder": "EUR", "autocapitalize": "characters"}
        )
        self.fields["rate"].help_text = f"Units of {tenant.currency} per unit of the currency."

    def validate_unique(self) -> None:
        """The service checks uniqueness and names the field."""


class PipelineForm(forms.Form):
    name = forms.CharField(max_length=120)


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportKind.choices, label="The file holds")
    file = forms.FileField(
        help_text="CSV with a header line; comma, semicolon or tab separated; UTF-8."
    )


class ImportMappingForm(forms.Form):
    """One select per field of the import kind, offering the file's columns."""

    all_or_nothing = forms.BooleanField(
        required=False,
        initial=True,
        label="All or nothing: import nothing if any row has an error",
    )

    def __init__(
        self, *args: Any, kind: str, headers: list[str], mapping: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "— not imported —"), *[(h, h) for h in headers]]
        self.specs = list(sync.FIELDS[kind].values())
        for spec in self.specs:
            self.fields[f"map_{spec.name}"] = forms.ChoiceField(
                choices=choices,
                required=False,
                label=spec.label,
                initial=mapping.get(spec.name, ""),
                help_text=spec.help,
            )
        self.order_fields([f"map_{s.name}" for s in self.specs] + ["all_or_nothing"])

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("map_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("map_") and value
        }

    def rows(self) -> list[tuple[Any, Any]]:
        return [(spec, self[f"map_{spec.name}"]) for spec in self.specs]
