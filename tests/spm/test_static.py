"""Static files as `make run` serves them (WhiteNoise reading the finders)."""

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_plotly_is_served_from_the_package_and_a_missing_file_is_not_found(client):
    # a missing file: no finder has it (PlotlyFinder answered None, which
    # finders.find() turned into [None] and WhiteNoise into a 500)
    assert finders.find("spm/no-such-file.css") is None
    assert finders.find("vendor/plotly/plotly.min.js").endswith("package_data/plotly.min.js")
    assert client.get("/static/spm/no-such-file.css").status_code == 404
    served = client.get("/static/vendor/plotly/plotly.min.js")
    assert (served.status_code, served["Content-Type"]) == (200, 'text/javascript; charset="utf-8"')
