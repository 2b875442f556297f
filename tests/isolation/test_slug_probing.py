"""Probing tenant slugs tells nothing: a real slug and a made-up one answer
identically (status, headers, body) to anonymous callers and to members of
another tenant, on pages and on the API."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

PATHS = [
    ("get", "/{slug}/"),
    ("get", "/{slug}/pipeline/deals/"),
    ("get", "/{slug}/kpis/leaderboards/?period=1"),
    ("get", "/{slug}/goals/quotas/"),
    ("get", "/api/v1/{slug}/deals/"),
    ("get", "/api/v1/{slug}/deals/1/"),
    ("get", "/api/v1/{slug}/kpi-reports/leaderboard/?period=abc"),
    ("post", "/api/v1/{slug}/deals/"),
    ("get", "/api/v1/{slug}/members/?format=csv"),
]


def _answer(client: Client, method: str, path: str, slug: str, **extra: str) -> tuple:
    """Status, headers and body, with the slug itself, the per-response CSRF
    mask and the Content-Security-Policy nonce (random on every page) blanked out."""
    response = getattr(client, method)(path.format(slug=slug), **extra)
    headers = {
        k: re.sub(r"'nonce-[^']+'", "'nonce-'", v.replace(slug, "<slug>"))
        for k, v in response.items()
    }
    body = re.sub(rb'"X-CSRFToken": "[^"]+"', b'"X-CSRFToken": ""', response.content)
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"csrf", body)
    body = re.sub(rb'nonce="[^"]+"', b'nonce=""', body)
    return response.status_code, headers, body.replace(slug.encode(), b"<slug>")


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_anonymous_callers_get_the_same_answer_for_real_and_fake_slugs(world_a, method, path):
    real = _answer(Client(), method, path, "alpha")
    fake = _answer(Client(), method, path, "omega")

    assert real == fake
    assert real[0] in (302, 401)


def test_anonymous_answers_are_the_login_page_and_a_401(world_a):
    page = Client().get("/omega/pipeline/deals/")
    api = Client().get("/api/v1/omega/deals/")

    assert (page.status_code, page["Location"]) == (
        302,
        "/accounts/login/?next=/omega/pipeline/deals/",
    )
    assert (api.status_code, api["WWW-Authenticate"], api.json()) == (
        401,
        'Bearer realm="api"',
        {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": "Authentication credentials were not provided.",
        },
    )


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_members_of_another_tenant_get_the_same_answer_for_real_and_fake_slugs(
    world_a, world_b, method, path
):
    session = client_for(world_b.admin.user)
    token = Token.objects.create(user=world_b.admin.user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}

    real = _answer(session, method, path, "alpha", **auth)
    fake = _answer(session, method, path, "omega", **auth)

    assert real == fake
    assert real[0] == 404
