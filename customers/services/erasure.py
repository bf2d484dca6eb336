"""The customers app's part of erasure, registered into ``privacy.erasure.services.erasure``.

``customers_erasure_collect`` finds the customers a request concerns (the team's own among the
requested ids, plus every profile merged into them, transitively) and the keyed hashes of all
their identities (``customers.services.suppression``); ``customers_erase`` deletes them and
everything attached with one SQL statement per table, so erasing a customer with 100,000 events
costs the same number of queries as one with ten and never loads a row into Python.

What goes: events, purchases, identities, import report rows, duplicate candidates, merge
records (their ``survivor_before`` holds an encrypted copy of the profile), per-customer grants
(guardian), the customers themselves, tombstones included.

Stored import files: a file is deleted when its import is over unless the user kept it
(``customers.services.import_files``). A kept CSV holds many people, so rewriting it without one
person's lines would mean re-reading and re-writing every file they appear in. Instead, the file
of every import whose report names an erased customer is deleted (after commit, so a rolled-back
erasure keeps it) and the job's ``file`` is cleared; the job keeps its counts and report lines
of other people. The file is only needed to preview or resume an import, so a finished import
loses nothing else. Dry-run imports link no customer and would not be found this way, which is
why a dry run never keeps its file.

Purchases are deleted, unless ``ERASURE_KEEP_PURCHASES_FOR_ACCOUNTING`` is on: then they are
kept detached for the books (``customer`` set to NULL in the same statement-per-table way), with
their order reference, time, amount, currency and items, and nothing that ties them to the
person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from guardian.models import GroupObjectPermission, UserObjectPermission

from customers.models import (
    Customer,
    CustomerGroupObjectPermission,
    CustomerUserObjectPermission,
    DuplicateCandidate,
    Event,
    Identity,
    IdentityKind,
    ImportJob,
    ImportRow,
    MergeRecord,
    Purchase,
)
from customers.services.locks import team_identity_lock
from customers.services.suppression import suppression_key
from privacy.core.crypto import blind_index
from privacy.erasure.services.erasure import ErasureSubjects
from privacy.models import Team

_CONTACT_KINDS = (IdentityKind.EMAIL, IdentityKind.PHONE)
_KEEP_PURCHASES = "ERASURE_KEEP_PURCHASES_FOR_ACCOUNTING"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# The team's customers among the requested ids and, transitively, every profile merged into them
# (parameters ``team`` and ``ids``): who an erasure and an access package are about.
SUBJECT_CTE = f"""
WITH RECURSIVE subject(id) AS (
    SELECT id FROM {_table(Customer)}
    WHERE owner_team_id = %(team)s AND id = ANY(%(ids)s::bigint[])
    UNION
    SELECT merged.id FROM {_table(Customer)} AS merged
    JOIN subject ON merged.merged_into_id = subject.id
    WHERE merged.owner_team_id = %(team)s
)
"""  # noqa: S608


def customers_erasure_collect(*, team: Team, customer_ids: list[int]) -> ErasureSubjects:
    """Lock and name the customers to erase, the keyed hashes of every identity they had (to
    suppress), and their external ids per channel (for the recipients told of the erasure).

    Locks in the order imports take them (import job, the team's identity-resolution lock,
    customers), so an erasure and an import chunk of the same person wait for each other
    instead of deadlocking: an upsert already running finishes first and its identities are
    suppressed here; one starting later sees the suppression entries.
    """
    params = {"team": team.pk, "ids": list(customer_ids)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"{SUBJECT_CTE} SELECT id FROM {_table(ImportJob)} WHERE id IN ("  # noqa: S608
            f"SELECT job_id FROM {_table(ImportRow)} WHERE customer_id IN (SELECT id FROM subject)"
            ") ORDER BY id FOR UPDATE",
            params,
        )
    team_identity_lock(team)
    # Read again under the locks: a merge may have committed meanwhile.
    customers = list(
        Customer.objects.raw(
            f"{SUBJECT_CTE} SELECT id, email, phone FROM {_table(Customer)} "  # noqa: S608
            "WHERE id IN (SELECT id FROM subject) ORDER BY id FOR UPDATE",
            params,
        )
    )
    ids = [customer.pk for customer in customers]
    if not ids:
        return ErasureSubjects()
    identities = list(
        Identity.objects.filter(customer_id__in=ids).values_list(
            "kind", "channel", "lookup_key", "value"
        )
    )
    # Every identity is suppressed: emails and phones by their blind index (their lookup
    # key), external ids keyed with their channel. An external id is kept as it is in
    # ``lookup_key``; ``value`` (decrypted on load) wins should one ever be stored encrypted.
    keys = {
        suppression_key(
            kind, channel, (value or lookup_key) if kind == IdentityKind.EXTERNAL else lookup_key
        )
        for kind, channel, lookup_key, value in identities
    }
    # The current values too, in case a profile lacks the identity (created outside services).
    for customer in customers:
        for kind in _CONTACT_KINDS:
            value = getattr(customer, kind)
            if value:
                keys.add(suppression_key(kind, "", blind_index(value, purpose=kind)))
    external_ids = {
        (channel, value or lookup_key)
        for kind, channel, lookup_key, value in identities
        if kind == IdentityKind.EXTERNAL and channel
    }
    return ErasureSubjects(
        customer_ids=frozenset(ids),
        suppression_keys=frozenset(keys),
        external_ids=frozenset(external_ids),
    )


# Set-based deletes, one statement per table; every table holding a customer's rows is here.
# Parameters: ``ids`` (the customers), ``texts`` (the same ids as text), ``team``.
_DELETES: tuple[tuple[str, str], ...] = (
    *(
        (label, f"DELETE FROM {_table(model)} WHERE customer_id = ANY(%(ids)s::bigint[])")  # noqa: S608
        for label, model in (
            ("customers.event", Event),
            ("customers.identity", Identity),
        )
    ),
    (
        "customers.duplicate_candidate",
        f"DELETE FROM {_table(DuplicateCandidate)} "  # noqa: S608
        "WHERE first_id = ANY(%(ids)s::bigint[]) OR second_id = ANY(%(ids)s::bigint[])",
    ),
    (
        "customers.merge_record",
        f"DELETE FROM {_table(MergeRecord)} "  # noqa: S608
        "WHERE survivor_id = ANY(%(ids)s::bigint[]) OR merged_id = ANY(%(ids)s::bigint[])",
    ),
    *(
        (
            "customers.object_permission",
            f"DELETE FROM {_table(model)} WHERE content_object_id = ANY(%(ids)s::bigint[])",  # noqa: S608
        )
        for model in (CustomerUserObjectPermission, CustomerGroupObjectPermission)
    ),
    # Grants kept generically (by text primary key), should any exist.
    *(
        (
            "customers.object_permission",
            f"DELETE FROM {_table(model)} WHERE object_pk = ANY(%(texts)s::text[]) "  # noqa: S608
            "AND content_type_id = (SELECT id FROM django_content_type "
            "WHERE app_label = 'customers' AND model = 'customer')",
        )
        for model in (UserObjectPermission, GroupObjectPermission)
    ),
    (
        "customers.customer",
        f"DELETE FROM {_table(Customer)} "  # noqa: S608
        "WHERE owner_team_id = %(team)s AND id = ANY(%(ids)s::bigint[])",
    ),
)
_PURCHASES_DELETE = f"DELETE FROM {_table(Purchase)} WHERE customer_id = ANY(%(ids)s::bigint[])"  # noqa: S608
_PURCHASES_DETACH = (
    f"UPDATE {_table(Purchase)} SET customer_id = NULL "  # noqa: S608
    "WHERE customer_id = ANY(%(ids)s::bigint[])"
)
_IMPORT_ROWS_DELETE = (
    f"WITH gone AS (DELETE FROM {_table(ImportRow)} WHERE customer_id = ANY(%(ids)s::bigint[]) "  # noqa: S608
    "RETURNING job_id) SELECT job_id, count(*) FROM gone GROUP BY job_id"
)
_IMPORT_FILES_CLEAR = (
    f"WITH previous AS (SELECT id, file FROM {_table(ImportJob)} "  # noqa: S608
    "WHERE id = ANY(%(jobs)s::bigint[]) AND file <> '') "
    f"UPDATE {_table(ImportJob)} AS job SET file = '' FROM previous "
    "WHERE job.id = previous.id RETURNING previous.file"
)


def customers_erase(*, team: Team, customer_ids: list[int]) -> dict[str, int]:
    """Delete the customers and everything of theirs in this app, one statement per table.

    ``customer_ids`` come from ``customers_erasure_collect`` (the team's, locked). Returns the
    rows deleted per table label. Foreign keys are deferred, so the order does not matter.
    """
    params = {
        "ids": list(customer_ids),
        "texts": [str(pk) for pk in customer_ids],
        "team": team.pk,
    }
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(_IMPORT_ROWS_DELETE, params)
        rows_by_job = dict(cursor.fetchall())
        counts["customers.import_row"] = sum(rows_by_job.values())
        counts["customers.import_file"] = _import_files_remove(cursor, sorted(rows_by_job))
        if getattr(settings, _KEEP_PURCHASES, False):
            cursor.execute(_PURCHASES_DETACH, params)
            counts["customers.purchase"] = 0
            counts["customers.purchase_detached"] = cursor.rowcount
        else:
            cursor.execute(_PURCHASES_DELETE, params)
            counts["customers.purchase"] = cursor.rowcount
        for label, sql in _DELETES:
            cursor.execute(sql, params)
            counts[label] = counts.get(label, 0) + cursor.rowcount
    return counts


def _import_files_remove(cursor, job_ids: list[int]) -> int:
    """Clear the stored file of these import jobs now and delete the files after commit."""
    if not job_ids:
        return 0
    cursor.execute(_IMPORT_FILES_CLEAR, {"jobs": job_ids})
    names = [name for (name,) in cursor.fetchall()]
    storage = ImportJob._meta.get_field("file").storage

    def delete_files() -> None:
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files)
    return len(names)
