"""The Simplified Chinese catalogue is complete and compiled, and the UI switches to it."""

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys

import pytest
from django.conf import settings
from django.utils import translation

CATALOGUE = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)[sd]")


def _po_entries(path=None) -> list[dict]:
    """A tiny .po reader: each entry's flags, msgid, msgid_plural and msgstr.

    Chinese has one plural form (``nplurals=1``), so a plural entry's ``msgstr[0]`` is its whole
    translation and is read as ``msgstr``. Message contexts are not used in this project.
    """
    entries = []
    path = path or CATALOGUE / "django.po"
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry = {"flags": set(), "msgid": None, "msgid_plural": None, "msgstr": None}
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith("msgctxt") or (
                line.startswith("msgstr[") and not line.startswith("msgstr[0] ")
            ):
                raise AssertionError(f"The reader does not handle this line: {line}")
            elif line.startswith(("msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ")):
                field, _, literal = line.partition(" ")
                field = "msgstr" if field == "msgstr[0]" else field
                entry[field] = ast.literal_eval(literal)
            elif line.startswith('"'):
                entry[field] += ast.literal_eval(line)
        if entry["msgid"] is not None:
            entries.append(entry)
    return entries


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    # LocaleMiddleware leaves the request's language active in this thread; reset it.
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_catalogue_header_names_the_language_and_its_plural_rule():
    header = next(entry for entry in _po_entries() if entry["msgid"] == "")
    assert "fuzzy" not in header["flags"]
    assert "Language: zh_Hans\n" in header["msgstr"]
    assert "Plural-Forms: nplurals=1; plural=0;\n" in header["msgstr"]
    assert "Content-Type: text/plain; charset=UTF-8\n" in header["msgstr"]


def test_every_message_is_translated_with_its_placeholders_and_none_is_fuzzy():
    messages = [entry for entry in _po_entries() if entry["msgid"] != ""]
    assert len(messages) > 50
    assert [entry["msgid"] for entry in messages if "fuzzy" in entry["flags"]] == []
    assert [entry["msgid"] for entry in messages if not entry["msgstr"].strip()] == []
    # A plural's one Chinese form says what the singular and plural English forms say.
    placeholders = [
        sorted(set(PLACEHOLDER.findall(entry["msgid"] + (entry["msgid_plural"] or ""))))
        for entry in messages
    ]
    mismatched = [
        entry["msgid"]
        for entry, expected in zip(messages, placeholders, strict=True)
        if sorted(set(PLACEHOLDER.findall(entry["msgstr"]))) != expected
    ]
    assert mismatched == []


def test_every_message_the_code_marks_is_in_the_catalogue(tmp_path):
    # makemessages on a copy of the sources (it rewrites the catalogue it merges into): a
    # message the catalogue lacks comes out untranslated, one whose English changed fuzzy.
    for name in ("customers", "privacy", "segments", "campaigns", "config", "templates", "locale"):
        shutil.copytree(
            settings.BASE_DIR / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(settings.BASE_DIR / "manage.py", tmp_path / "manage.py")
    made = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        # the copy first; the test settings also name the test apps, which stay where they are
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(settings.BASE_DIR)])},
    )
    assert made.returncode == 0, made.stderr
    merged = _po_entries(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    missing = [
        entry["msgid"]
        for entry in merged
        if entry["msgid"] and ("fuzzy" in entry["flags"] or not entry["msgstr"].strip())
    ]
    assert missing == []


def test_compiled_catalogue_matches_the_po_file():
    with (CATALOGUE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    assert catalogue.info()["language"] == "zh_Hans"
    messages = [entry for entry in _po_entries() if entry["msgid"] != ""]
    stale = {
        entry["msgid"]
        for entry in messages
        if (
            catalogue.ngettext(entry["msgid"], entry["msgid_plural"], 2)
            if entry["msgid_plural"]
            else catalogue.gettext(entry["msgid"])
        )
        != entry["msgstr"]
    }
    assert stale == set()
    assert catalogue.gettext("Sign in") == "登录"
    assert catalogue.gettext("Segments") == "客户分群"


def test_login_page_follows_accept_language(client):
    chinese = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chinese.status_code == 200
    chinese_html = chinese.content.decode()
    assert '<html lang="zh-hans">' in chinese_html
    assert "<h1>登录</h1>" in chinese_html
    assert "<title>登录 · Marketbase</title>" in chinese_html
    assert "Sign in" not in chinese_html

    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    english_html = english.content.decode()
    assert '<html lang="en">' in english_html
    assert "<h1>Sign in</h1>" in english_html
    assert "登录" not in english_html


def test_language_switch_makes_the_next_page_chinese(client):
    before = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    assert "<h1>Sign in</h1>" in before.content.decode()

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"

    # The cookie wins over the browser's Accept-Language.
    after = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")
    html = after.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "<h1>登录</h1>" in html
    assert '<option value="zh-hans" selected>' in html
