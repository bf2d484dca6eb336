"""How the privacy core finds people: the ``SubjectDirectory`` the customers app registers.

The privacy core cannot know the customers table; the customers app registers a
``SubjectDirectory`` that finds a person's customers, and restricts or marks objections on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from privacy.models import (
    Team,
)


class SubjectDirectory(Protocol):
    """What the customers app offers the privacy core about the people it holds."""

    def find(self, *, team: Team, email: str | None, phone: str | None) -> list[int]:
        """Customers of ``team`` with this email or phone (raw input; the directory normalises).

        Raises ``RequestError`` naming ``subject_email``/``subject_phone`` for a value that is
        not an email address or phone number."""

    def existing(self, *, team: Team, customer_ids: Iterable[int]) -> list[int]:
        """Which of ``customer_ids`` are active customers of ``team``."""

    def restrict(self, *, team: Team, customer_ids: list[int], restricted: bool) -> int:
        """Set or lift the processing restriction; returns the customers changed."""

    def object_to_marketing(self, *, team: Team, customer_ids: list[int]) -> int:
        """Mark an objection to direct marketing; returns the customers changed."""


_directory: SubjectDirectory | None = None


def register_subject_directory(directory: SubjectDirectory) -> None:
    """Called by the customers app in ``AppConfig.ready()``."""
    global _directory
    _directory = directory


def subject_directory() -> SubjectDirectory:
    if _directory is None:
        raise RuntimeError("No subject directory is registered (is the customers app installed?)")
    return _directory
