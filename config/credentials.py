"""The development credentials file: the demo accounts' passwords, kept where their owner can
read them again (``.data/credentials.txt`` under ``make run``) and nobody else can.

Each command that creates accounts writes its own section (``[administrator]``, ``[demo
staff]``), replacing what that section held, so the file always describes the current
database. The file is created with mode 0600 and set to 0600 again at every write. It holds
development passwords only: production creates no demo accounts.

This module must not import Django: ``config.stack`` reads the file before Django starts.
"""

from __future__ import annotations

import os
from pathlib import Path

HEADER = "# Marketbase development accounts, readable only by you (`make clean-data` removes them)."


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections[current] = []
        elif current is not None and line.strip():
            sections[current].append(line)
    return sections


def credentials_write(path: Path, section: str, lines: list[str]) -> None:
    """Replace ``section`` of the credentials file at ``path`` with ``lines``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sections = _sections(path.read_text()) if path.exists() else {}
    sections[section] = lines
    ordered = sorted(sections.items(), key=lambda item: item[0] != "administrator")
    text = "\n".join([HEADER, *(f"\n[{name}]\n" + "\n".join(body) for name, body in ordered)])
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # also when the file was there before with another mode
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")


def credentials_read(path: Path) -> str:
    """The credentials file without its header, or ``""`` when there is none."""
    if not path.exists():
        return ""
    return "\n".join(line for line in path.read_text().splitlines() if line != HEADER).strip()
