"""Fuzzy duplicates: customers that may be one person, found and scored in SQL, decided by staff.

Identity resolution (``customers.services.upsert``) merges records that share an exact
identifier (external id, email, phone). People who reached us twice with *different*
identifiers are caught here instead. A shared name is never enough: common names are shared by
strangers. Two active customers of the same team are a candidate when

- they have the same set of name tokens (``name_index``, keyed tokens, so names are compared
  without plaintext), and
- they share a blocking key: the birth date, the postal code (ignoring case and spaces) or the
  city (ignoring case), and
- nothing rules them out: two known birth dates that differ, or two known countries that
  differ, mean two people, whatever else they share, and
- their score reaches ``SCORE_THRESHOLD``.

The score adds up what matches (``WEIGHTS``, 100 when everything does): the name 40, the birth
date 30, the postal code 15, the city 10, the email domain 5. A common name (shared by more than
``COMMON_NAME_PEOPLE`` customers of the team) counts 25 instead of 40: "same rare name and
city" is 50, just proposed, "same common name and city" 35, not proposed, while a common name
with the same birth date (55) or postal code and city (50) still is. The queue lists the pairs
most alike first. What matched is kept in ``reasons``; ``reason`` names the strongest blocking
key, as before.

A pair is suggested once: the unique constraint on (first, second) keeps a pair that staff
dismissed, or merged, from coming back; an open pair found again gets its score and reasons
updated. A survivor of a merge holds the name tokens of both profiles, so it matches only
people with that same combined set.
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

# What each matching key adds to a pair's score (the name is always matched; a name that more
# than ``COMMON_NAME_PEOPLE`` customers of the team share says less about who someone is).
WEIGHTS = {
    "name": 40,
    "common_name": 25,
    "birth_date": 30,
    "postal_code": 15,
    "city": 10,
    "email_domain": 5,
}
SCORE_THRESHOLD = 50
COMMON_NAME_PEOPLE = 5

# Only people who share their whole set of name tokens with someone of their team can be in a
# pair, so they are picked first (a window count over (team, name tokens as a sorted set)). Pairs
# are then found by hash joins among them on (team, name tokens, one blocking key), never by
# comparing every pair; a pair that conflicts (two known birth dates or countries that differ)
# is dropped in the join itself, so a large block of namesakes never becomes a large set of
# pairs. Each branch computes what matched, so a pair found by several keys is one row of the
# UNION, scored without reading the people again; it is inserted, or its score refreshed while
# it is open, in the same statement.
#
# No join or HAVING before the pair joins: the planner cannot estimate their output and, taking
# it for one row, compared every namesake with every other in nested loops (minutes at 100,000
# customers). A filter on the window count is estimated as a share of the rows: hash joins.
_PAIR_JOIN = """
    SELECT a.owner_team_id,
           a.id AS first_id,
           b.id AS second_id,
           a.namesake_count > %(common_name_people)s AS common_name,
           coalesce(a.birth_date = b.birth_date, false) AS birth_date,
           coalesce(a.postal_key = b.postal_key, false) AS postal_code,
           coalesce(a.city_key = b.city_key, false) AS city,
           coalesce(a.domain_key = b.domain_key, false) AS email_domain
    FROM namesakes AS a
    JOIN namesakes AS b ON b.owner_team_id = a.owner_team_id AND b.name_key = a.name_key
                       AND b.{key} = a.{key} AND b.id > a.id
                       AND (a.birth_date IS NULL OR b.birth_date IS NULL
                            OR a.birth_date = b.birth_date)
                       AND (a.country_key IS NULL OR b.country_key IS NULL
                            OR a.country_key = b.country_key)
"""

_FIND_SQL = f"""
WITH people AS (
    SELECT c.id,
           c.owner_team_id,
           ARRAY(SELECT DISTINCT token FROM unnest(c.name_index) AS token ORDER BY token)
               AS name_key,
           c.birth_date,
           nullif(lower(btrim(c.city)), '') AS city_key,
           nullif(upper(regexp_replace(c.postal_code, '\\s', '', 'g')), '') AS postal_key,
           nullif(upper(btrim(c.country)), '') AS country_key,
           nullif(lower(btrim(c.email_domain)), '') AS domain_key
    FROM customers_customer AS c
    WHERE c.merged_into_id IS NULL
      AND cardinality(c.name_index) > 0
      AND (%(team_id)s::bigint IS NULL OR c.owner_team_id = %(team_id)s::bigint)
),
namesakes AS MATERIALIZED (
    SELECT *
    FROM (
        SELECT people.*,
               count(*) OVER (PARTITION BY owner_team_id, name_key) AS namesake_count
        FROM people
    ) AS counted
    WHERE namesake_count > 1
),
matches AS (
    {_PAIR_JOIN.format(key="birth_date")}
    UNION
    {_PAIR_JOIN.format(key="postal_key")}
    UNION
    {_PAIR_JOIN.format(key="city_key")}
),
scored AS (
    SELECT owner_team_id,
           first_id,
           second_id,
           birth_date,
           CASE WHEN common_name THEN %(weight_common_name)s ELSE %(weight_name)s END
             + CASE WHEN birth_date THEN %(weight_birth_date)s ELSE 0 END
             + CASE WHEN postal_code THEN %(weight_postal_code)s ELSE 0 END
             + CASE WHEN city THEN %(weight_city)s ELSE 0 END
             + CASE WHEN email_domain THEN %(weight_email_domain)s ELSE 0 END AS score,
           array_remove(ARRAY[
               CASE WHEN common_name THEN 'common_name' ELSE 'name' END,
               CASE WHEN birth_date THEN 'birth_date' END,
               CASE WHEN postal_code THEN 'postal_code' END,
               CASE WHEN city THEN 'city' END,
               CASE WHEN email_domain THEN 'email_domain' END
           ]::varchar[], NULL) AS reasons
    FROM matches
),
written AS (
    INSERT INTO customers_duplicatecandidate (owner_team_id, first_id, second_id, reason,
                                              score, reasons, status, created_at)
    SELECT owner_team_id,
           first_id,
           second_id,
           CASE WHEN birth_date THEN %(reason_birth_date)s ELSE %(reason_place)s END,
           score,
           reasons,
           %(status)s,
           now()
    FROM scored
    WHERE score >= %(threshold)s
    ORDER BY first_id, second_id
    ON CONFLICT (first_id, second_id) DO UPDATE
        SET score = excluded.score, reasons = excluded.reasons, reason = excluded.reason
        WHERE customers_duplicatecandidate.status = %(status)s
          AND (customers_duplicatecandidate.score, customers_duplicatecandidate.reasons)
              IS DISTINCT FROM (excluded.score, excluded.reasons)
    RETURNING (xmax = 0) AS is_new
)
SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) FROM written
"""  # noqa: S608 (the pieces put in are this module's constants)


@transaction.atomic
def duplicates_find(*, team_id: int | None = None) -> int:
    """Suggest new duplicate pairs (of one team, or of all teams); return how many were added.

    One ``INSERT ... SELECT ... ON CONFLICT``: pairs already suggested are not added again (an
    open one has its score refreshed, a decided one is left alone), so running it again adds
    nothing. Audited when it added or rescored pairs.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _FIND_SQL,
            {
                "team_id": team_id,
                "reason_birth_date": REASON_BIRTH_DATE,
                "reason_place": REASON_PLACE,
                "status": DuplicateStatus.OPEN.value,
                "threshold": SCORE_THRESHOLD,
                "common_name_people": COMMON_NAME_PEOPLE,
                **{f"weight_{key}": weight for key, weight in WEIGHTS.items()},
            },
        )
        found, rescored = cursor.fetchone()
    if found or rescored:
        audit_record(
            action="duplicates.find",
            object_type=DuplicateCandidate._meta.label_lower,
            team_id=team_id,
            metadata={"team": team_id, "found": found, "rescored": rescored},
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
