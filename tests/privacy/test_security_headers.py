"""Security headers on every kind of response, and templates the content security policy allows."""

import re
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from privacy.core.security_headers import (
    DEFAULT_CONTENT_SECURITY_POLICY,
    content_security_policy,
    permissions_policy,
)
from tests.factories import api_token_for

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

EXPECTED_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
EXPECTED_PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)


def assert_security_headers(response, *, framed_page: bool = True) -> None:
    assert response["Content-Security-Policy"] == EXPECTED_POLICY
    assert response["Permissions-Policy"] == EXPECTED_PERMISSIONS
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    # Set by Django's SecurityMiddleware (and XFrameOptionsMiddleware for pages), kept alongside.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    if framed_page:
        assert response["X-Frame-Options"] == "DENY"


def test_policy_strings_are_built_in_directive_order():
    assert content_security_policy(DEFAULT_CONTENT_SECURITY_POLICY) == EXPECTED_POLICY
    assert content_security_policy({"img-src": ["'self'", "data:"]}) == "img-src 'self' data:"
    assert permissions_policy({"camera": [], "fullscreen": ["self"]}) == (
        "camera=(), fullscreen=(self)"
    )


@pytest.mark.django_db
def test_login_page_has_the_security_headers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_staff_page_has_the_security_headers(verified_client, marketer_a):
    response = verified_client(marketer_a).get("/customers/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_redirect_to_sign_in_has_the_security_headers(client, db):
    # The sign-in gate answers before XFrameOptionsMiddleware; the policy forbids framing anyway.
    response = client.get("/customers/")
    assert response.status_code == 302
    assert_security_headers(response, framed_page=False)


def test_api_responses_have_the_security_headers(marketer_a):
    client = APIClient()
    assert_security_headers(client.get("/api/v1/customers/"))  # 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(marketer_a)}")
    response = client.get("/api/v1/customers/")
    assert response.status_code == 200
    assert_security_headers(response)


def test_api_docs_have_the_security_headers_and_no_inline_script_or_style(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert_security_headers(response)
    html = response.content.decode()
    assert "<style" not in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, html
    assert all(" src=" in tag for tag in scripts), scripts
    # The start-up script is served from this origin, as JavaScript.
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script=[^"]*)"', html).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_static_files_have_the_security_headers(client, db):
    response = client.get("/static/js/marketbase.js")
    assert response.status_code == 200
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


# What script-src 'self' and style-src 'self' refuse to run or apply.
_INLINE = {
    # A JSON data block (json_script) is not run, so it is allowed.
    "inline script": re.compile(
        r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE
    ),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_templates_hold_no_inline_script_or_style():
    # Given every template of the project
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert templates

    # Then none holds what the content security policy would block
    found = [
        f"{path.relative_to(TEMPLATES)}:{text[: match.start()].count(chr(10)) + 1}: {kind}"
        for path in templates
        for text in [path.read_text(encoding="utf-8")]
        for kind, pattern in _INLINE.items()
        for match in pattern.finditer(text)
    ]
    assert found == [], "\n".join(found)
