"""How privacy code finds people: the ``SubjectDirectory`` the app that holds them registers.

The privacy core and its features sit below the customers app and never import it, nor look its
model up by name: the customers app registers a ``SubjectDirectory`` in its
``AppConfig.ready()``. Requests find a person's customers through it and restrict them or mark
their objection; consent reads the addresses its events are bound to, follows a signed link to
the profile it was made for and lets the access layer scope the customers an API call may
change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

from privacy.core.registry import Registry
from privacy.models import Team


class Subject(Protocol):
    """What privacy code reads of a person's record."""

    pk: Any
    owner_team_id: int
    email: str | None
    # The profile this one was merged into, or None.
    merged_into_id: int | None


class SubjectDirectory(Protocol):
    """What the app that holds people offers privacy code about them."""

    def find(self, *, team: Team, email: str | None, phone: str | None) -> list[int]:
        """Customers of ``team`` with this email or phone (raw input; the directory normalises).

        Raises a ``ValueError`` with a ``field`` attribute naming ``subject_email`` or
        ``subject_phone`` for a value that is not an email address or phone number."""

    def existing(self, *, team: Team, customer_ids: Iterable[int]) -> list[int]:
        """Which of ``customer_ids`` are active customers of ``team``."""

    def restrict(self, *, team: Team, customer_ids: list[int], restricted: bool) -> int:
        """Set or lift the processing restriction; returns the customers changed."""

    def object_to_marketing(self, *, team: Team, customer_ids: list[int]) -> int:
        """Mark an objection to direct marketing; returns the customers changed."""

    def emails(self, *, team: Team, customer_ids: Iterable[int]) -> dict[int, str | None]:
        """The email of each of ``customer_ids`` that belongs to ``team`` (active or not)."""

    def get(self, customer_id: int, *, for_update: bool = False) -> Subject | None:
        """The customer with this id, of any team, merged or not; ``None`` when there is none.
        With ``for_update`` the row is locked until the end of the transaction."""

    def active(self) -> QuerySet:
        """Every active customer, for the access layer to scope."""


_directories: Registry[SubjectDirectory] = Registry("subject directory")


def register_subject_directory(label: str, directory: SubjectDirectory) -> None:
    """Called by the app that holds people (``label``) in its ``AppConfig.ready()``."""
    _directories.register(label, directory)


def subject_directories() -> dict[str, SubjectDirectory]:
    return dict(_directories)


def subject_directory() -> SubjectDirectory:
    if not _directories:
        raise RuntimeError("No subject directory is registered (is the customers app installed?)")
    if len(_directories) > 1:
        raise ImproperlyConfigured(
            f"One app holds people; subject directories are registered by {', '.join(_directories)}"
        )
    return next(iter(_directories.values()))
