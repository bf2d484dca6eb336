"""Keyed prefix tokens: search by the start of a name word or of an email's local part.

The plaintext is encrypted, so a prefix cannot be matched in SQL. Instead, wherever the
plaintext is at hand (upsert, staff edit, merge, ``customers_reindex`` after a key change), each
name word and the email's local part give one keyed HMAC token (``privacy.core.crypto``,
``BLIND_INDEX_KEY``) per prefix of ``PREFIX_MIN`` to ``PREFIX_MAX`` characters, stored in
``Customer.search_prefixes`` under a GIN index. A search computes the token of what was typed and
asks for containment: one index look-up, no plaintext and no trigram in the database.

The trade-off, accepted for the feature: a token is deterministic, so whoever reads the table
sees which customers share a prefix ("linkable"), and how many prefixes a word has (its length,
up to ``PREFIX_MAX``). Without the key a token says nothing of the letters themselves. Names and
email local parts use distinct purposes, so their tokens never collide. Prefixes shorter than
three characters are not stored: they would link too many people and narrow too little.
"""

from __future__ import annotations

from privacy.core.crypto import blind_index, name_tokens

PREFIX_MIN = 3
# Longer typed words are matched on their first PREFIX_MAX characters.
PREFIX_MAX = 12
NAME_PURPOSE = "name-prefix"
EMAIL_PURPOSE = "email-prefix"


def _prefixes(word: str) -> list[str]:
    return [word[:length] for length in range(PREFIX_MIN, min(len(word), PREFIX_MAX) + 1)]


def prefix_token(word: str, *, purpose: str) -> str:
    """The token a search for ``word`` (already folded) looks up."""
    return blind_index(word[:PREFIX_MAX], purpose=purpose)


def email_local_part(email: str | None) -> str:
    return (email or "").rpartition("@")[0].casefold()


def search_prefixes(
    *, given_name: str | None, family_name: str | None, email: str | None
) -> list[str]:
    """The prefix tokens of a customer's name words and email local part, sorted."""
    tokens = {
        blind_index(prefix, purpose=NAME_PURPOSE)
        for word in name_tokens(given_name or "", family_name or "")
        for prefix in _prefixes(word)
    }
    tokens.update(
        blind_index(prefix, purpose=EMAIL_PURPOSE) for prefix in _prefixes(email_local_part(email))
    )
    return sorted(tokens)


def customer_search_prefixes(customer) -> list[str]:
    return search_prefixes(
        given_name=customer.given_name, family_name=customer.family_name, email=customer.email
    )
