"""HTML forms never answer 500 on bad input: binary uploads, NUL bytes,
numbers too large for money, unknown choices. Each is an error beside its
field or line, and nothing is saved."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from goals.models import Quota
from pipeline.models import ImportBatch
from spm.tenancy.context import tenant_context
from tests.conftest import client_for
from tests.goals.factories import period

pytestmark = pytest.mark.django_db

NUL_MESSAGE = (
    "Line {line} holds a NUL byte: this is not a text CSV file. "
    "Save it as CSV (UTF-8) and upload it again."
)
TOO_LARGE = "The amount is too large (at most 9,999,999,999,999,999.99)."


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b"Opportunity ID,Name\nD-1,Big\x00deal\n", 2),
        (bytes(range(256)) * 4, 1),
        ("Opportunity ID,Name\n".encode("utf-16"), 1),
    ],
)
def test_pipeline_import_refuses_a_binary_or_nul_file_beside_the_field(world_a, content, line):
    upload = SimpleUploadedFile("deals.csv", content, content_type="text/csv")

    response = client_for(world_a.admin.user).post(
        "/alpha/pipeline/import/", {"kind": "deals", "file": upload}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [NUL_MESSAGE.format(line=line)]}
    with tenant_context(world_a.tenant):
        assert ImportBatch.objects.count() == 0


def test_pipeline_import_reports_a_malformed_csv_line(world_a):
    content = 'Opportunity ID,Name\nD-1,"' + "x" * 200_000 + '"\n'
    upload = SimpleUploadedFile("deals.csv", content.encode(), content_type="text/csv")

    response = client_for(world_a.admin.user).post(
        "/alpha/pipeline/import/", {"kind": "deals", "file": upload}
    )

    assert response.context["form"].errors == {
        "file": ["Line 2: field larger than field limit (131072)."]
    }


def _cell(world, jan, amount: str, measure: str = "bookings"):
    return client_for(world.manager.user).post(
        reverse("goals:quota-cell", kwargs={"tenant_slug": world.tenant.slug}),
        {"subject": f"m{world.rep1.pk}", "period": jan.pk, "measure": measure, "amount": amount},
    )


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e30", TOO_LARGE),
        ("9" * 10_000, TOO_LARGE),
        ("10000000000000000", TOO_LARGE),
        ("-0.001", "A quota cannot be negative."),
    ],
)
def test_quota_cell_refuses_numbers_that_do_not_fit_beside_the_cell(world_a, amount, message):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)

    response = _cell(world_a, jan, amount)

    assert response.status_code == 200
    assert (
        f'<p class="cell-error" role="alert" id="e-m{world_a.rep1.pk}-{jan.pk}">{message}</p>'
        in response.content.decode()
    )
    with tenant_context(world_a.tenant):
        assert Quota.objects.count() == 0


def test_quota_cell_refuses_an_unknown_measure_instead_of_saving_bookings(world_a):
    with tenant_context(world_a.tenant):
        jan = period(world_a.tenant, "month", 2027, 1)

    response = _cell(world_a, jan, "1000", measure="bogus")

    assert (
        f'<p class="cell-error" role="alert" id="e-m{world_a.rep1.pk}-{jan.pk}">'
        "&#x27;bogus&#x27; is not a measure; choose one of bookings, deal_count, "
        "activity_count.</p>" in response.content.decode()
    )
    with tenant_context(world_a.tenant):
        assert Quota.objects.count() == 0


def test_other_quota_writes_refuse_an_unknown_measure_with_a_400(world_a):
    response = client_for(world_a.manager.user).post(
        reverse("goals:quota-import", kwargs={"tenant_slug": "alpha"})
        + "?year=2027&view=quarter&measure=bogus",
        {"file": SimpleUploadedFile("grid.csv", b"key\n")},
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ("1e30", "Line 2, FY2027 Q1: the amount is too large (at most 9,999,999,999,999,999.99)."),
        (
            "9" * 10_000,
            "Line 2, FY2027 Q1: the amount is too large (at most 9,999,999,999,999,999.99).",
        ),
    ],
)
def test_quota_csv_import_names_the_line_of_a_number_too_large(world_a, cell, error):
    text = f"key,name,team,FY2027 Q1\nm{world_a.rep1.pk},Ray One,West,{cell}\n"

    response = client_for(world_a.manager.user).post(
        reverse("goals:quota-import", kwargs={"tenant_slug": "alpha"}) + "?year=2027&view=quarter",
        {"file": SimpleUploadedFile("grid.csv", text.encode())},
    )

    assert response.context["import_errors"] == [error]
    with tenant_context(world_a.tenant):
        assert Quota.objects.count() == 0


def test_quota_csv_import_refuses_a_nul_byte_beside_the_field(world_a):
    text = f"key,name,team,FY2027 Q1\nm{world_a.rep1.pk},Ray\x00One,West,1\n"

    response = client_for(world_a.manager.user).post(
        reverse("goals:quota-import", kwargs={"tenant_slug": "alpha"}) + "?year=2027&view=quarter",
        {"file": SimpleUploadedFile("grid.csv", text.encode())},
    )

    assert response.context["form"].errors == {"file": [NUL_MESSAGE.format(line=2)]}
