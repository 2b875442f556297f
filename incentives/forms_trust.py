"""Forms of the statement answer, dispute and notification pages."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from incentives.models import NotificationKind, StatementLine
from incentives.services.disputes import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from pipeline.models import Deal
from spm.models import FiscalPeriod
from spm.money import MONEY_KWARGS


class DisputeForm(forms.Form):
    line = forms.ModelChoiceField(
        queryset=StatementLine.objects.none(),
        required=False,
        empty_label="The whole statement",
        label="What is wrong",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    attachment = forms.FileField(
        required=False, help_text="Optional: PDF, PNG, JPEG, CSV, text or XLSX, up to 5 MB."
    )

    def __init__(self, *args: Any, lines: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = cast(forms.ModelChoiceField, self.fields["line"])
        line_field.queryset = lines if lines is not None else StatementLine.objects.none()
        line_field.label_from_instance = lambda line: (  # type: ignore[method-assign,assignment]
            f"Line {line.position + 1}: {line.component} {line.kind} · {line.amount}"
        )

    def clean_attachment(self) -> Any:
        upload = self.cleaned_data.get("attachment")
        if upload is None:
            return None
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        if upload.content_type not in ATTACHMENT_TYPES:
            raise forms.ValidationError("Attach a PDF, PNG, JPEG, CSV, text or XLSX file.")
        return upload


class CommentForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, label="Comment"
    )


class ResolveForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=MONEY_KWARGS["max_digits"],
        decimal_places=MONEY_KWARGS["decimal_places"],
        label="Adjustment",
        help_text="Posted by the next run of the statement's period (or the next open one).",
    )
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class RejectForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class PreferencesForm(forms.Form):
    email_kinds = forms.MultipleChoiceField(
        choices=NotificationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Email me when",
    )


class EstimateForm(forms.Form):
    period = forms.ModelChoiceField(queryset=FiscalPeriod.objects.none(), empty_label=None)
    deals = forms.ModelMultipleChoiceField(
        queryset=Deal.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Open deals to count as won",
    )
    amount = forms.DecimalField(
        max_digits=MONEY_KWARGS["max_digits"],
        decimal_places=MONEY_KWARGS["decimal_places"],
        min_value=0,
        required=False,
        label="Or an amount",
    )

    def __init__(self, *args: Any, periods: Any, deals: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["period"]).queryset = periods
        deal_field = cast(forms.ModelMultipleChoiceField, self.fields["deals"])
        deal_field.queryset = deals
        deal_field.label_from_instance = lambda d: (  # type: ignore[method-assign,assignment]
            f"{d.name} · {d.amount} · expected {d.expected_close_date}"
        )


class PayrollForm(forms.Form):
    period = forms.ModelChoiceField(
        queryset=FiscalPeriod.objects.none(), label="Pay period (published)"
    )

    def __init__(self, *args: Any, periods: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["period"]).queryset = periods


class ApprovalRequestForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Note for the approver",
    )


class ApprovalDecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    answer = forms.CharField(
        required=False,
        max_length=2000,
        label="Answer",
    )
