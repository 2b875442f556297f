"""Browser forms of the goals pillar. Choices are scoped to the tenant and to
what the member may write; the rules themselves live in the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from goals import selectors
from goals.models import Goal, GoalLevel, Metric, SeasonalityProfile
from goals.services import AllocationMethod
from goals.smart import parse_number, smart_check_data
from spm.forms import VERSION_FIELD, version_field
from spm.models import FiscalPeriod, Membership, Team, Tenant
from spm.money import MONEY_KWARGS, PERCENT_INPUT_KWARGS, RATE_KWARGS, WEIGHT_KWARGS
from spm.uploads import refuse_binary

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AllocateForm(forms.Form):
    period = forms.ModelChoiceField(queryset=FiscalPeriod.objects.none())
    amount = forms.DecimalField(**MONEY_KWARGS, min_value=Decimal("0"), label="Team quota")
    method = forms.ChoiceField(
        choices=AllocationMethod.CHOICES,
        widget=forms.RadioSelect,
        initial=AllocationMethod.PRIOR_BOOKINGS,
        label="Weights",
    )
    unit = forms.DecimalField(
        **MONEY_KWARGS,
        min_value=Decimal("0.01"),
        initial=Decimal("1000"),
        label="Round to a unit of",
    )
    factor = forms.DecimalField(
        **RATE_KWARGS,
        initial=Decimal("1.00"),
        label="Over-assignment factor",
        help_text="1.10 allocates 110% of the team quota to the reps.",
    )

    def __init__(
        self,
        *args: Any,
        tenant: Tenant,
        fiscal_year: int,
        targets: list[Membership | Team],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = FiscalPeriod.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant, fiscal_year=fiscal_year, is_closed=False
        ).order_by("start", "-end")
        self.targets = targets
        for target in targets:
            key = self.weight_key(target)
            label = target.display_name if isinstance(target, Membership) else target.name
            self.fields[key] = forms.DecimalField(
                **WEIGHT_KWARGS,
                min_value=Decimal("0"),
                required=False,
                label=label,
            )

    @staticmethod
    def weight_key(target: Membership | Team) -> str:
        return f"w_m{target.pk}" if isinstance(target, Membership) else f"w_t{target.pk}"

    def weight_fields(self) -> list[forms.BoundField]:
        return [self[self.weight_key(t)] for t in self.targets]

    def manual_weights(self) -> dict[str, Decimal]:
        return {
            self.weight_key(t)[2:]: self.cleaned_data[self.weight_key(t)]
            for t in self.targets
            if self.cleaned_data.get(self.weight_key(t)) is not None
        }


class SpreadForm(forms.Form):
    period = forms.ModelChoiceField(
        queryset=FiscalPeriod.objects.none(), label="Quarter or year to spread"
    )
    profile = forms.ModelChoiceField(
        queryset=SeasonalityProfile.objects.none(),
        required=False,
        empty_label="Evenly",
        label="Seasonality",
    )

    def __init__(self, *args: Any, tenant: Tenant, fiscal_year: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].queryset = FiscalPeriod.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant, fiscal_year=fiscal_year, kind__in=["quarter", "year"], is_closed=False
        ).order_by("-kind", "start")
        self.fields["profile"].queryset = SeasonalityProfile.objects.filter(  # type: ignore[attr-defined]
            tenant=tenant
        )


class ImportForm(forms.Form):
    file = forms.FileField(label="Grid CSV", help_text="Export the grid first for the columns.")

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > 2_000_000:
            raise forms.ValidationError("The file is larger than 2 MB.")
        data = upload.read()
        try:
            refuse_binary(data)
            return data.decode("utf-8-sig")
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["file"]) from None
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text.") from None


class GoalForm(forms.Form):
    """A SMART goal. Every field is optional at the form level so that the
    SMART check, not a generic 'This field is required.', says what is missing."""

    level = forms.ChoiceField(choices=GoalLevel.choices, label="Whose goal")
    owner_team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Team")
    owner_membership = forms.ModelChoiceField(
        queryset=Membership.objects.none(), required=False, label="Person"
    )
    title = forms.CharField(
        max_length=200,
        required=False,
        label="What will be achieved",
        help_text="Specific: a concrete result, e.g. 'Win 5 new healthcare accounts'.",
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Details"
    )
    metric = forms.ChoiceField(
        choices=[("", "Choose a measure")] + list(Metric.choices),
        required=False,
        label="Measured by",
    )
    unit = forms.CharField(max_length=24, required=False, label="Unit (manual measures)")
    baseline_value = forms.CharField(
        required=False, label="Starting value", help_text="Where you are today (0 if empty)."
    )
    target_value = forms.CharField(required=False, label="Target value")
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Why it matters"
    )
    parent = forms.ModelChoiceField(
        queryset=Goal.objects.none(), required=False, label="Supports the higher goal"
    )
    start_date = forms.DateField(required=False, widget=DATE)
    due_date = forms.DateField(required=False, widget=DATE)

    def __init__(
        self,
        *args: Any,
        tenant: Tenant,
        viewer: Membership,
        goal: Goal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.smart_summary = ""
        members, teams = selectors.goals_writable_owner_scope(tenant, viewer=viewer)
        team_qs = Team.objects.filter(tenant=tenant).order_by("path")
        member_qs = Membership.objects.filter(tenant=tenant, is_active=True).select_related("user")
        if teams is not None:
            team_qs = team_qs.filter(pk__in=teams)
        if members is not None:
            member_qs = member_qs.filter(pk__in=members)
        parent_qs = selectors.goals_visible(tenant, viewer=viewer).exclude(level=GoalLevel.MEMBER)
        if goal is not None:
            parent_qs = parent_qs.exclude(pk=goal.pk)
        fields = self.fields
        if goal is not None:
            fields[VERSION_FIELD] = version_field(goal)
        fields["owner_team"].queryset = team_qs  # type: ignore[attr-defined]
        fields["owner_team"].label_from_instance = lambda t: ("— " * t.depth) + t.name  # type: ignore[attr-defined]
        fields["owner_membership"].queryset = member_qs  # type: ignore[attr-defined]
        fields["owner_membership"].label_from_instance = lambda m: m.display_name  # type: ignore[attr-defined]
        fields["parent"].queryset = parent_qs.select_related("owner_team")  # type: ignore[attr-defined]
        fields["parent"].label_from_instance = (  # type: ignore[attr-defined]
            lambda g: f"{g.owner_label}: {g.title}"
        )
        allowed_levels = (
            [GoalLevel.TEAM, GoalLevel.MEMBER] if members is not None else list(GoalLevel)
        )
        if teams is not None and not teams:
            allowed_levels = [GoalLevel.MEMBER]
        fields["level"].choices = [(v, GoalLevel(v).label) for v in allowed_levels]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        result = smart_check_data(data)
        for name, message in result.errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        self.smart_summary = result.summary
        return data


class CheckInForm(forms.Form):
    checked_on = forms.DateField(widget=DATE, label="Date")
    value = forms.CharField(required=False, label="Current value")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def clean_value(self) -> Decimal | None:
        number, given = parse_number(self.cleaned_data.get("value"))
        if given and number is None:
            raise forms.ValidationError("Enter a number, e.g. 12 or 12.5.")
        return number


class ObjectiveRowForm(forms.Form):
    objective_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    title = forms.CharField(max_length=200, required=False)
    weight_percent = forms.DecimalField(
        **PERCENT_INPUT_KWARGS,
        required=False,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        label="Weight %",
    )
    cap_percent = forms.DecimalField(
        **PERCENT_INPUT_KWARGS,
        initial=Decimal("100"),
        required=False,
        min_value=Decimal("100"),
        max_value=Decimal("200"),
        label="Cap %",
    )


ObjectiveFormSet = forms.formset_factory(ObjectiveRowForm, extra=0, min_num=1, max_num=12)


class ScoreRowForm(forms.Form):
    objective_id = forms.IntegerField(widget=forms.HiddenInput)
    score_percent = forms.DecimalField(
        **PERCENT_INPUT_KWARGS, required=False, min_value=Decimal("0"), label="Score %"
    )
    comment = forms.CharField(max_length=500, required=False)


ScoreFormSet = forms.formset_factory(ScoreRowForm, extra=0)
