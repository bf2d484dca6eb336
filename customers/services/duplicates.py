"""Fuzzy duplicates: customers that may be one person, found in SQL and decided by staff.

Identity resolution (``customers.services.upsert``) merges records that share an exact
identifier (external id, email, phone). People who reached us twice with *different*
identifiers are caught here instead: two active customers of the same team with the same set
of name tokens (``name_index``, keyed tokens, so names are compared without plaintext) and

- the same birth date ("same name and birth date"), or
- the same city (case-insensitive) or the same postal code (ignoring case and spaces)
  ("same name and place").

A pair is suggested once: the unique constraint on (first, second) keeps a pair that staff
dismissed, or merged, from coming back. A survivor of a merge holds the name tokens of both
profiles, so it matches only people with that same combined set.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from customers.models import DuplicateCandidate, DuplicateStatus
from customers.services.merge import customer_merge
from privacy.core.services.audit import audit_record

REASON_BIRTH_DATE = "same name and birth date"
REASON_PLACE = "same name and place"

# Only people who share their whole set of name tokens with someone of their team can be in
# a pair, so they are picked first (one hash aggregate); each match rule is then an equality
# join among them on (team, name tokens as a sorted set, key), never a comparison of every
# pair. A pair matched by several rules is inserted once, with the birth-date reason first.
_FIND_SQL = """
WITH people AS MATERIALIZED (
    SELECT c.id,
           c.owner_team_id,
           ARRAY(SELECT DISTINCT token FROM unnest(c.name_index) AS token ORDER BY token)
               AS name_key,
           c.birth_date,
           nullif(lower(btrim(c.city)), '') AS city_key,
           nullif(upper(regexp_replace(c.postal_code, '\\s', '', 'g')), '') AS postal_key
    FROM customers_customer AS c
    WHERE c.merged_into_id IS NULL
      AND cardinality(c.name_index) > 0
      AND (%(team_id)s::bigint IS NULL OR c.owner_team_id = %(team_id)s::bigint)
),
namesakes AS MATERIALIZED (
    SELECT p.*
    FROM people AS p
    JOIN (
        SELECT owner_team_id, name_key FROM people
        GROUP BY owner_team_id, name_key
        HAVING count(*) > 1
    ) AS shared USING (owner_team_id, name_key)
),
pairs AS (
    SELECT a.owner_team_id, a.id AS first_id, b.id AS second_id, 1 AS priority
    FROM namesakes AS a
    JOIN namesakes AS b ON b.owner_team_id = a.owner_team_id AND b.name_key = a.name_key
                       AND b.birth_date = a.birth_date AND b.id > a.id
    UNION ALL
    SELECT a.owner_team_id, a.id, b.id, 2
    FROM namesakes AS a
    JOIN namesakes AS b ON b.owner_team_id = a.owner_team_id AND b.name_key = a.name_key
                       AND b.city_key = a.city_key AND b.id > a.id
    UNION ALL
    SELECT a.owner_team_id, a.id, b.id, 2
    FROM namesakes AS a
    JOIN namesakes AS b ON b.owner_team_id = a.owner_team_id AND b.name_key = a.name_key
                       AND b.postal_key = a.postal_key AND b.id > a.id
)
INSERT INTO customers_duplicatecandidate (owner_team_id, first_id, second_id, reason, status,
                                          created_at)
SELECT DISTINCT ON (first_id, second_id)
       owner_team_id,
       first_id,
       second_id,
       CASE priority WHEN 1 THEN %(reason_birth_date)s ELSE %(reason_place)s END,
       %(status)s,
       now()
FROM pairs
ORDER BY first_id, second_id, priority
ON CONFLICT (first_id, second_id) DO NOTHING
"""


@transaction.atomic
def duplicates_find(*, team_id: int | None = None) -> int:
    """Suggest new duplicate pairs (of one team, or of all teams); return how many were added.

    One ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: pairs already suggested, in any
    status, are skipped, so running it again adds nothing. Audited when it added pairs.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _FIND_SQL,
            {
                "team_id": team_id,
                "reason_birth_date": REASON_BIRTH_DATE,
                "reason_place": REASON_PLACE,
                "status": DuplicateStatus.OPEN.value,
            },
        )
        found = cursor.rowcount
    if found:
        audit_record(
            action="duplicates.find",
            object_type=DuplicateCandidate._meta.label_lower,
            team_id=team_id,
            metadata={"team": team_id, "found": found},
        )
    return found


@transaction.atomic
def duplicate_decide(
    *, actor: AbstractBaseUser | None, candidate: DuplicateCandidate, merge: bool
) -> DuplicateCandidate:
    """Merge the pair (the older profile, ``first``, survives) or dismiss it; audited.

    Returns the decided candidate (a fresh instance; ``candidate`` itself is not changed).

    Raises ``ValueError`` when the candidate was already decided, and when the merge is
    refused (one of the two was merged into someone else in the meantime). The caller checks
    that ``actor`` may see the candidate (``privacy.core.access``).
    """
    locked = (
        DuplicateCandidate.objects.select_for_update(of=("self",))
        .select_related("first", "second")
        .get(pk=candidate.pk)
    )
    if locked.status != DuplicateStatus.OPEN:
        raise ValueError(f"Duplicate candidate #{locked.pk} was already {locked.status}.")
    if merge:
        # customer_merge writes its own audit entry (customer.merge, reason "duplicate").
        customer_merge(survivor=locked.first, merged=locked.second, actor=actor, reason="duplicate")
        locked.status = DuplicateStatus.MERGED
    else:
        locked.status = DuplicateStatus.DISMISSED
        audit_record(
            action="duplicate.dismiss",
            actor=actor,
            target=locked,
            metadata={"first_customer": locked.first_id, "second_customer": locked.second_id},
        )
    locked.decided_by = actor if actor is not None and actor.is_authenticated else None
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked
