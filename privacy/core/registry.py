"""The one shape of every registry: how a lower layer lets the layers above it take part.

A lower layer never imports a higher one. When it needs something of them (the people the
customers app holds, what each app erases or exports, the record of processing of each model,
what each role may do in each app), it offers a ``Registry`` that the higher app fills in its
``AppConfig.ready()``. ``docs/registries.md`` lists every registry, its key, who fills it and
when.

Registration is keyed and idempotent: registering a key again with an equal value changes
nothing (``ready()`` may run more than once), a different value under a taken key raises
``RegistryConflict`` (two apps claiming one key is a mistake to find at start-up, not a silent
replacement). A registry is a read-only mapping of what is registered, in the order of
registration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


class RegistryConflict(ImproperlyConfigured):
    """A key registered again with a different value."""


class Registry(Mapping[str, T]):
    """Values of type ``T`` by key, filled at start-up, read-only to everyone else."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[str, T] = {}

    def register(self, key: str, value: T) -> None:
        """Register ``value`` under ``key``; the same value again is a no-op."""
        if key in self._entries:
            if self._entries[key] == value:
                return
            raise RegistryConflict(
                f"{self.name}: {key!r} is registered already, with another value"
            )
        self._entries[key] = value

    def __getitem__(self, key: str) -> T:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Registry {self.name}: {', '.join(map(str, self._entries)) or 'empty'}>"
