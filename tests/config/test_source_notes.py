"""Comments, docstrings and documents speak about the code, never to someone who should still
do something to it: such a note is acted on (or rewritten) before it is committed."""

import re
from pathlib import Path

from django.conf import settings

FOLDERS = ("privacy", "customers", "segments", "campaigns", "config", "templates", "tests")
FOLDERS += ("docs", "bench", "static/css", "static/js", ".ci")
FILES = ("README.md", "Makefile", "Procfile", ".env.example", "pyproject.toml")
SUFFIXES = {".py", ".html", ".md", ".txt", ".js", ".css", ".toml", ""}
# Markers of work left to do, and requests to move or wire code ("may hoist this import",
# "may move these to ...", "once someone wires it").
NOTE = re.compile(
    r"\b(TODO|FIXME|XXX|HACK)\b|\bhoist|\bwires? it\b"
    r"|\b(may|should|will|could) (move|wire|rename) th(is|ese|em)\b"
)


def sources() -> list[Path]:
    root = settings.BASE_DIR
    found = [root / name for name in FILES]
    for folder in FOLDERS:
        found += [
            path
            for path in (root / folder).rglob("*")
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts
        ]
    return sorted(path for path in found if path != Path(__file__).resolve())


def test_no_note_addressed_to_a_person_is_left_in_the_sources():
    notes = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}"
        for path in sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NOTE.search(line)
    ]

    assert notes == []
