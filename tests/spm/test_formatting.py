"""The one formatting rule: money, numbers, percentages and dates by locale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.template import Context, Template

from spm.formatting import Formats, Locale
from spm.tenancy.context import tenant_context

US = Formats(locale=Locale.EN_US, currency="USD")
DE = Formats(locale=Locale.DE_DE, currency="EUR")


@pytest.mark.parametrize(
    ("formats", "value", "places", "text"),
    [
        (US, Decimal("1234567.505"), 2, "$1,234,567.51"),
        (US, Decimal("16164000"), 2, "$16,164,000.00"),
        (US, Decimal("-1500"), 0, "-$1,500"),
        (US, Decimal("-0.001"), 2, "$0.00"),
        (DE, Decimal("1234567.5"), 2, "1.234.567,50\u00a0€"),
        (Formats(locale=Locale.EN_GB, currency="CHF"), Decimal("12.5"), 2, "CHF\u00a012.50"),
        (
            Formats(locale=Locale.FR_FR, currency="EUR"),
            Decimal("1234.5"),
            2,
            "1\u202f234,50\u00a0€",
        ),
    ],
)
def test_money_carries_its_currency_and_thousands_separators(formats, value, places, text):
    assert formats.money(value, places) == text


def test_numbers_percentages_and_dates_follow_the_locale():
    day = dt.date(2027, 2, 5)
    assert (US.number(Decimal("1234.5")), US.number(Decimal("1234.5"), 1)) == ("1,235", "1,234.5")
    assert (US.percent(Decimal("0.5555555556")), DE.percent(Decimal("0.5555555556"))) == (
        "55.56%",
        "55,56\u00a0%",
    )
    assert US.percent_of(Decimal("60"), 0) == "60%"
    assert (US.date(day), DE.date(day), Formats(locale=Locale.EN_GB).date(day)) == (
        "Feb 5, 2027",
        "05.02.2027",
        "5 Feb 2027",
    )
    assert (US.money(None), US.date(None)) == ("—", "—")


def test_typed_amounts_read_back_in_the_locale():
    assert (US.plain(" 1,292,000.50 "), DE.plain("1.292.000,50"), US.plain("abc")) == (
        "1292000.50",
        "1292000.50",
        "abc",
    )


def test_plotly_figures_get_the_same_separators_and_symbol():
    assert US.plotly() == {"separators": ".,", "money_prefix": "$", "money_suffix": ""}
    assert DE.plotly() == {"separators": ",.", "money_prefix": "", "money_suffix": " €"}


def test_template_filters_format_for_the_tenant_in_context(world_a, world_b):
    template = Template(
        "{{ amount|money }} | {{ amount|money:0 }} | {{ ratio|percent }} | {{ day|day }}"
        " | {{ amount|money_in:'EUR' }}"
    )
    context = Context(
        {"amount": Decimal("48000.5"), "ratio": Decimal("0.2"), "day": dt.date(2027, 3, 31)}
    )
    with tenant_context(world_a.tenant):
        assert (
            template.render(context) == "$48,000.50 | $48,001 | 20.00% | Mar 31, 2027 | €48,000.50"
        )
    world_b.tenant.locale, world_b.tenant.currency = Locale.DE_DE, "EUR"
    with tenant_context(world_b.tenant):
        assert template.render(context) == (
            "48.000,50\u00a0€ | 48.001\u00a0€ | 20,00\u00a0% | 31.03.2027 | 48.000,50\u00a0€"
        )
