"""form_errors_add: a service's ValidationError lands on the form, beside the
field it names or at the top."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from spm.forms import form_errors_add


class _Form(forms.Form):
    amount = forms.DecimalField()
    map_owner = forms.CharField()


def _bound() -> _Form:
    form = _Form({"amount": "1", "map_owner": "x"})
    assert form.is_valid()
    return form


def test_named_fields_go_beside_the_field_and_unknown_ones_to_the_top():
    form = _bound()

    form_errors_add(form, ValidationError({"amount": "Too big.", "period": "Closed."}))

    assert form.errors == {"amount": ["Too big."], "__all__": ["Closed."]}


def test_a_prefix_maps_the_services_names_onto_the_forms():
    form = _bound()

    form_errors_add(form, ValidationError({"owner": "Map a column."}), prefix="map_")

    assert form.errors == {"map_owner": ["Map a column."]}


def test_a_message_without_a_field_goes_to_the_top():
    form = _bound()

    form_errors_add(form, ValidationError(["First.", "Second."]))

    assert form.errors == {"__all__": ["First.", "Second."]}
