"""Response headers: a Content-Security-Policy with a fresh nonce per request,
no inline script without it, the usual security headers, CSRF on sessions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.conftest import PASSWORD, client_for

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [BASE_DIR / "templates", *BASE_DIR.glob("*/templates")]
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)(?![^>]*application/json)[^>]*>"
)
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:a-z-]*)=[\"']", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def _nonce(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


def test_no_template_has_an_inline_script_without_the_nonce_or_an_inline_handler():
    offenders = [
        f"{path.relative_to(BASE_DIR)}: {found.group(0)}"
        for path in _templates()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER)
        for found in pattern.finditer(path.read_text())
    ]
    assert len(_templates()) > 40
    assert offenders == []


def test_each_page_carries_the_policy_with_a_fresh_nonce_that_its_inline_script_uses(world_a):
    admin = client_for(world_a.admin.user)

    first, second = admin.get("/alpha/goals/quotas/"), admin.get("/alpha/goals/quotas/")

    policy = first["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert f"script-src 'self' 'nonce-{_nonce(first)}'" in policy
    assert "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
    assert _nonce(first) != _nonce(second)
    assert f'<script nonce="{_nonce(first)}">' in first.content.decode()


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/docs/", "/alpha/"])
def test_the_usual_security_headers(world_a, path):
    response = client_for(world_a.admin.user).get(path)
    assert response.status_code in (200, 302)
    assert {
        name: response.get(name)
        for name in (
            "X-Content-Type-Options",
            "Referrer-Policy",
            "X-Frame-Options",
            "Cross-Origin-Opener-Policy",
        )
    } == {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    assert "Content-Security-Policy" in response


def test_the_api_docs_page_runs_no_inline_script(world_a):
    page = client_for(world_a.admin.user).get("/api/v1/docs/").content.decode()
    assert INLINE_SCRIPT.findall(page) == []


def test_a_session_post_without_the_csrf_token_is_refused(world_a):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/accounts/login/")
    signed_in = browser.post(
        "/accounts/login/",
        {
            "username": "admin@alpha.test",
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
    )
    assert signed_in.status_code == 302

    page = browser.post("/alpha/kpis/runs/")
    api = browser.post("/api/v1/alpha/teams/", {"name": "North"}, content_type="application/json")

    assert (page.status_code, api.status_code) == (403, 403)
    assert api.json()["detail"] == "CSRF Failed: CSRF token missing."
