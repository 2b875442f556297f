"""Login, brute-force lockout, password reset, and the password hasher."""

import pytest
from django.conf import settings
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_argon2_is_the_production_hasher():
    from spm.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_login_with_email_and_password(world_a, client):
    response = client.post(
        "/accounts/login/", {"username": "rep1@alpha.test", "password": PASSWORD}
    )
    assert (response.status_code, response["Location"]) == (302, "/")


def test_repeated_failures_lock_the_account_out(world_a, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "rep1@alpha.test", "password": "nope"})
    response = client.post(
        "/accounts/login/", {"username": "rep1@alpha.test", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()


def test_password_reset_sends_a_link(world_a, client):
    response = client.post("/accounts/password_reset/", {"email": "rep1@alpha.test"})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["rep1@alpha.test"]]
    assert mail.outbox[0].subject == "Reset your SPM password"
