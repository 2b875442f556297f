"""Browser forms of the incentives pillar.

The plan builder edits one component of a version as a form plus its rate
table as a formset of bands; ``component_from_forms`` turns them back into the
component's part of the plan document, which the services validate. A
document error (``components[2].rate_table[1].from``) is put back beside the
field it names by ``document_errors_place``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from incentives.document import CREDIT_ROLES, DEAL_TYPES, MEASURES
from incentives.models import PlanVersion
from incentives.whatif import SampleDeal
from spm.forms import TeamChoiceField
from spm.models import FiscalPeriod, Membership, Team, Tenant

MEASURE_LABELS = {
    "credited_bookings": "Credited bookings",
    "deal_count": "Deal count",
    "kpi": "A KPI",
    "team_attainment": "Team attainment",
    "mbo_score": "MBO score (objectives)",
    "spiff": "SPIFF per qualifying deal",
}
_OPTIONAL = [("", "—")]
_DEAL_TYPES = _OPTIONAL + [(t, t.replace("_", " ").capitalize()) for t in DEAL_TYPES]
_BAND_RE = re.compile(r"^rate_table\[(?P<index>\d+)\]\.(?P<field>\w+)$")
_MULTIPLIER_RE = re.compile(r"^multipliers\[(?P<index>\d+)\]\.(?P<field>\w+)$")


def _number(required: bool = False, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(required=required, max_digits=18, decimal_places=6, **kwargs)


def _text(value: Decimal | None) -> str | None:
    """A form's Decimal as the document writes it: ``8``, ``12.5``, ``20000.00``."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


class NewPlanForm(forms.Form):
    name = forms.CharField(max_length=200)
    effective_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    effective_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def starter_document(self) -> dict[str, Any]:
        """A first version: one commission component at 10% on bookings, to edit."""
        data = self.cleaned_data
        document: dict[str, Any] = {
            "schema_version": 1,
            "name": data["name"],
            "effective_from": data["effective_from"].isoformat(),
            "components": [
                {
                    "key": "bookings",
                    "label": "Commission on bookings",
                    "measure": "credited_bookings",
                    "basis": "quota",
                    "period": "quarter",
                    "payout_frequency": "quarter",
                    "tiering": "marginal",
                    "rate_table": [{"from": "0", "rate": "10"}],
                }
            ],
        }
        if data.get("effective_to"):
            document["effective_to"] = data["effective_to"].isoformat()
        return document


class ComponentForm(forms.Form):
    """One component's fields; blanks are left out of the document (defaults apply)."""

    key = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]{0,39}$",
        max_length=40,
        help_text="Lower case letters, digits and _; names the component in lines and examples.",
    )
    label = forms.CharField(max_length=120, required=False)
    measure = forms.ChoiceField(choices=[(m, MEASURE_LABELS[m]) for m in MEASURES])
    kpi = forms.ChoiceField(required=False, label="KPI", help_text="For the KPI measure.")
    credit_roles = forms.MultipleChoiceField(
        choices=[(r, r.capitalize()) for r in CREDIT_ROLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Which credits count (default: direct and split).",
    )
    basis = forms.ChoiceField(
        choices=[("quota", "Quota of the period"), ("target", "A target amount")]
    )
    target = _number(help_text="When the basis is a target (or the KPI's target).")
    period = forms.ChoiceField(
        choices=[("month", "Month"), ("quarter", "Quarter"), ("year", "Year")],
        help_text="Measured cumulatively over this period.",
    )
    payout_frequency = forms.ChoiceField(choices=[("month", "Monthly"), ("quarter", "Quarterly")])
    tiering = forms.ChoiceField(
        choices=[
            ("marginal", "Marginal: each band's rate on the part in the band"),
            ("retroactive", "Retroactive: the band reached pays on everything"),
        ]
    )
    rate_table_on = forms.ChoiceField(
        choices=[("attainment", "Attainment (%)"), ("amount", "Booked amount")],
        label="Bands on",
    )
    weight = _number(help_text="Percent of the target incentive (team and KPI components).")
    gate = _number(help_text="Attainment (%) below which the component pays nothing.")
    cap_per_period = _number(label="Cap per period")
    cap_per_year = _number(label="Cap per plan year")
    spiff_amount = _number(label="SPIFF amount per deal")
    spiff_deal_type = forms.ChoiceField(choices=_DEAL_TYPES, required=False, label="Deal type")
    spiff_product_line = forms.CharField(required=False, label="Product line")
    spiff_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    spiff_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    target_bonus = _number(label="MBO target bonus", help_text="Paid x the weighted score.")

    GROUPS = (
        ("Measure", ("key", "label", "measure", "kpi", "credit_roles", "basis", "target")),
        ("Timing and tiers", ("period", "payout_frequency", "tiering", "rate_table_on", "weight")),
        ("Gate and caps", ("gate", "cap_per_period", "cap_per_year")),
        (
            "SPIFF",
            ("spiff_amount", "spiff_deal_type", "spiff_product_line", "spiff_from", "spiff_to"),
        ),
        ("MBO bonus", ("target_bonus",)),
    )

    def __init__(self, *args: Any, kpis: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["kpi"]).choices = _OPTIONAL + [
            (k, k) for k in sorted(kpis)
        ]

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.GROUPS]

    @classmethod
    def initial_from(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The form's initial values from a component of the document."""
        cap = config.get("cap") or {}
        spiff = config.get("spiff") or {}
        return {
            **{k: v for k, v in config.items() if k not in ("cap", "spiff", "rate_table")},
            "credit_roles": config.get("credit_roles") or ["direct", "split"],
            "cap_per_period": cap.get("per_period"),
            "cap_per_year": cap.get("per_year"),
            "spiff_amount": spiff.get("amount"),
            "spiff_deal_type": spiff.get("deal_type", ""),
            "spiff_product_line": spiff.get("product_line", ""),
            "spiff_from": spiff.get("from"),
            "spiff_to": spiff.get("to"),
        }


class BandForm(forms.Form):
    """One band ``[from, to)`` of a rate table; a blank row is no band."""

    lower = _number(label="From")
    upper = _number(label="To", help_text="Blank: no upper end (last band only).")
    rate = _number(label="Rate (%)")
    amount = _number(label="Amount per deal")

    PATH_FIELDS = {"from": "lower", "to": "upper", "rate": "rate", "amount": "amount"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("lower") is None and not self.is_blank():
            self.add_error("lower", "A band needs its lower end (0 for the first).")
        return data

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return all(data.get(name) is None for name in self.fields)

    def band(self) -> dict[str, Any]:
        data = self.cleaned_data
        band: dict[str, Any] = {"from": _text(data["lower"] or Decimal(0))}
        if data["upper"] is not None:
            band["to"] = _text(data["upper"])
        if data["rate"] is not None:
            band["rate"] = _text(data["rate"])
        if data["amount"] is not None:
            band["amount"] = _money_text(data["amount"])
        return band

    @classmethod
    def initial_from(cls, band: dict[str, Any]) -> dict[str, Any]:
        return {cls.PATH_FIELDS[k]: v for k, v in band.items()}


BandFormSet = forms.formset_factory(BandForm, extra=2)


class MultiplierForm(forms.Form):
    """One multiplier: commission on the deals it matches x factor; a blank
    row is no multiplier (docs/formulas.md, "Multipliers")."""

    factor = _number(help_text="1.5 pays half as much again; 0 pays nothing.")
    deal_type = forms.ChoiceField(choices=_DEAL_TYPES, required=False)
    product_line = forms.CharField(required=False, max_length=80)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("factor") is None and not self.is_blank():
            self.add_error("factor", "A multiplier needs its factor.")
        return data

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return (
            data.get("factor") is None
            and not data.get("deal_type")
            and not (data.get("product_line") or "").strip()
        )

    def multiplier(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {"factor": _text(data["factor"])}
        if data["deal_type"]:
            out["deal_type"] = data["deal_type"]
        if (data["product_line"] or "").strip():
            out["product_line"] = data["product_line"].strip()
        return out

    @classmethod
    def initial_from(cls, multiplier: dict[str, Any]) -> dict[str, Any]:
        return {
            "factor": multiplier.get("factor"),
            "deal_type": multiplier.get("deal_type", ""),
            "product_line": multiplier.get("product_line", ""),
        }


MultiplierFormSet = forms.formset_factory(MultiplierForm, extra=1)


class ComponentDeleteForm(forms.Form):
    """Deleting a component posts only the version's version field."""


def component_from_forms(
    form: ComponentForm,
    bands: list[BandForm],
    *,
    multipliers: list[MultiplierForm] | None = None,
    keep: dict[str, Any],
) -> dict[str, Any]:
    """The component's document part from the (valid) forms and non-blank
    rows. ``keep`` is the component as it was: its multipliers stay when no
    multiplier rows were posted (``multipliers`` is None)."""
    data = form.cleaned_data
    comp: dict[str, Any] = {"key": data["key"], "measure": data["measure"]}
    if data["label"]:
        comp["label"] = data["label"]
    if data["kpi"]:
        comp["kpi"] = data["kpi"]
    if data["credit_roles"] and set(data["credit_roles"]) != {"direct", "split"}:
        comp["credit_roles"] = list(data["credit_roles"])
    for name in ("basis", "period", "payout_frequency", "tiering", "rate_table_on"):
        comp[name] = data[name]
    for name in ("target", "weight", "gate"):
        if data[name] is not None:
            comp[name] = _text(data[name])
    cap = {
        key: _text(data[f"cap_{key}"])
        for key in ("per_period", "per_year")
        if data[f"cap_{key}"] is not None
    }
    if cap:
        comp["cap"] = cap
    if data["spiff_amount"] is not None:
        spiff: dict[str, Any] = {"amount": _money_text(data["spiff_amount"])}
        for name in ("deal_type", "product_line"):
            if data[f"spiff_{name}"]:
                spiff[name] = data[f"spiff_{name}"]
        for name in ("from", "to"):
            if data[f"spiff_{name}"]:
                spiff[name] = data[f"spiff_{name}"].isoformat()
        comp["spiff"] = spiff
    if data["target_bonus"] is not None:
        comp["target_bonus"] = _money_text(data["target_bonus"])
    table = [band.band() for band in bands]
    if table:
        comp["rate_table"] = table
    if multipliers is not None:
        if multipliers:
            comp["multipliers"] = [row.multiplier() for row in multipliers]
    elif keep.get("multipliers"):
        comp["multipliers"] = keep["multipliers"]
    return comp


def document_errors_place(
    exc: ValidationError,
    *,
    index: int,
    form: ComponentForm,
    bands: list[BandForm],
    multipliers: Sequence[MultiplierForm] = (),
) -> list[tuple[str, str]]:
    """Put each error of component ``index`` beside its field (band and
    multiplier errors on their row); return the others as (path, message)."""
    prefix = f"components[{index}]."
    others: list[tuple[str, str]] = []
    for path, messages in exc.message_dict.items():
        rest = path.removeprefix(prefix) if path.startswith(prefix) else None
        band = _BAND_RE.match(rest or "")
        mult = _MULTIPLIER_RE.match(rest or "")
        for message in messages:
            if band and int(band["index"]) < len(bands):
                row = bands[int(band["index"])]
                row.add_error(BandForm.PATH_FIELDS.get(band["field"]), message)
            elif (
                mult
                and int(mult["index"]) < len(multipliers)
                and mult["field"]
                in (
                    "factor",
                    "deal_type",
                    "product_line",
                )
            ):
                multipliers[int(mult["index"])].add_error(mult["field"], message)
            elif rest is not None and rest.replace(".", "_") in form.fields:
                form.add_error(rest.replace(".", "_"), message)
            else:
                others.append((path, message))
    return others


class DocumentForm(forms.Form):
    """A whole plan document as YAML or JSON text (or a file)."""

    text = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
        label="Plan document (YAML or JSON)",
    )
    file = forms.FileField(required=False, label="Or upload a .yaml / .json file")

    def source(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload is not None:
            try:
                return str(upload.read().decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise ValidationError({"file": "The file is not UTF-8 text."}) from exc
        if not self.cleaned_data.get("text", "").strip():
            raise ValidationError({"text": "Paste a plan document or choose a file."})
        return str(self.cleaned_data["text"])


class PreviewForm(forms.Form):
    """Sample figures for the live preview and the payout curve."""

    quota = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, initial=Decimal("100000.00")
    )
    target_incentive = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, initial=Decimal("20000.00")
    )
    deals = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        initial="60000\n70000",
        required=False,
        help_text="One sample deal per line: amount, then optionally a date (YYYY-MM-DD).",
    )
    team_attainment = forms.DecimalField(
        required=False, max_digits=9, decimal_places=2, min_value=0, label="Team attainment (%)"
    )
    mbo_score = forms.DecimalField(
        required=False, max_digits=9, decimal_places=2, min_value=0, label="MBO score (%)"
    )

    def clean_deals(self) -> list[SampleDeal]:
        deals = []
        for number, line in enumerate(str(self.cleaned_data["deals"]).splitlines(), start=1):
            parts = line.replace(",", " ").split()
            if not parts:
                continue
            try:
                amount = Decimal(parts[0])
                day = dt.date.fromisoformat(parts[1]) if len(parts) > 1 else None
            except (ArithmeticError, ValueError) as exc:
                raise ValidationError(
                    f"Line {number}: write an amount, then optionally a date (YYYY-MM-DD)."
                ) from exc
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1e13"):
                raise ValidationError(f"Line {number}: {parts[0]!r} is not an amount.")
            deals.append(SampleDeal(amount.quantize(Decimal("0.01")), day))
        return deals

    def sample(self) -> dict[str, Any]:
        """The sample figures: the cleaned ones, or the initial ones when unbound
        or invalid (the preview then shows the defaults)."""
        if self.is_bound and self.is_valid():
            data = dict(self.cleaned_data)
        else:
            data = {name: field.initial for name, field in self.fields.items()}
            data["deals"] = [SampleDeal(Decimal(x)) for x in str(data["deals"]).split()]
        for name in ("team_attainment", "mbo_score"):
            data[name] = None if data[name] is None else data[name] / 100
        return data


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


def _members(tenant: Tenant) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(tenant=tenant)
        .select_related("user")
        .order_by("user__last_name", "user__first_name")
    )


def _open_periods(tenant: Tenant) -> QuerySet[FiscalPeriod]:
    """Periods a run or an adjustment may be for: open months and quarters."""
    return FiscalPeriod.objects.filter(
        tenant=tenant, is_closed=False, kind__in=["month", "quarter"]
    ).order_by("start", "-kind")


class AssignForm(forms.Form):
    """Put one member, or every rep and manager of a team, on a plan version."""

    version = forms.ModelChoiceField(queryset=PlanVersion.objects.none(), label="Plan version")
    membership = MemberChoiceField(
        queryset=Membership.objects.none(), required=False, label="Member"
    )
    team = TeamChoiceField(
        queryset=Team.objects.none(), required=False, label="Or every member of a team"
    )
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    target_incentive = forms.DecimalField(
        max_digits=18,
        decimal_places=2,
        min_value=0,
        initial=Decimal("0.00"),
        help_text="For a full plan year; prorated by active days.",
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = cast(dict[str, forms.ModelChoiceField], self.fields)
        fields["version"].queryset = (
            PlanVersion.objects.filter(tenant=tenant)
            .select_related("plan")
            .order_by("plan__name", "number")
        )
        fields["membership"].queryset = _members(tenant)
        fields["team"].queryset = Team.objects.filter(tenant=tenant).order_by("path")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("membership")) == bool(data.get("team")):
            raise ValidationError("Choose a member or a team (one of the two).")
        return data


class AdjustmentForm(forms.Form):
    membership = MemberChoiceField(queryset=Membership.objects.none(), label="Member")
    period = forms.ModelChoiceField(queryset=FiscalPeriod.objects.none())
    amount = forms.DecimalField(max_digits=18, decimal_places=2, help_text="Negative to take back.")
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = cast(dict[str, forms.ModelChoiceField], self.fields)
        fields["membership"].queryset = _members(tenant)
        fields["period"].queryset = _open_periods(tenant)


class RunStartForm(forms.Form):
    period = forms.ModelChoiceField(queryset=FiscalPeriod.objects.none())

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["period"]).queryset = _open_periods(tenant)
