"""Consent with proof: append-only events, the derived state, bulk recording, notices and
double opt-in."""

import datetime
import re
import time

import pytest
from django.core import mail, signing
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from customers.models import Customer
from customers.services.merge import customer_merge, customer_merge_undo
from privacy.consent.selectors import consent_history, consent_state, consents_allow
from privacy.consent.services.double_opt_in import double_opt_in_confirm, double_opt_in_send
from privacy.consent.services.links import DOUBLE_OPT_IN_SALT, InvalidLink
from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import (
    ConsentError,
    consent_purposes_ensure,
    consent_record,
    consents_record_bulk,
)
from privacy.core.crypto import blind_index
from privacy.models import (
    AuditEntry,
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    PrivacyNotice,
)
from tests.customers.factories import CustomerFactory

EVIDENCE = {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0 (test)", "form": "signup"}


@pytest.fixture
def customer(team_a):
    return CustomerFactory(owner_team=team_a, email="ann@example.com")


def record(customer, status, *, purpose="email_marketing", channel="email", **options):
    options.setdefault("source", ConsentSource.FORM)
    return consent_record(
        customer=customer, purpose_code=purpose, channel=channel, status=status, **options
    )


# --- Recording -------------------------------------------------------------------------------


def test_an_event_keeps_its_proof_and_is_audited_without_personal_values(customer, steward, team_a):
    notice = notice_publish(version="2026-01", language="en", text="We use…", actor=steward)

    event = record(
        customer,
        ConsentStatus.GRANTED,
        actor=steward,
        evidence=EVIDENCE,
        notice=notice,
        lawful_basis="consent",
    )

    event.refresh_from_db()
    assert (event.owner_team, event.customer_id, event.purpose.code, event.channel) == (
        team_a,
        customer.pk,
        "email_marketing",
        "email",
    )
    assert (event.status, event.source, event.recorded_by, event.notice) == (
        "granted",
        "form",
        steward,
        notice,
    )
    assert event.evidence == EVIDENCE
    assert event.subject_key == blind_index("ann@example.com", purpose="email")
    entry = AuditEntry.objects.get(action="consent.record")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        steward,
        "privacy.consentevent",
        str(event.pk),
    )
    assert entry.metadata == {
        "customer_id": customer.pk,
        "purpose": "email_marketing",
        "channel": "email",
        "status": "granted",
        "source": "form",
        "notice": "2026-01",
    }
    assert "ann@example.com" not in str(entry.metadata)
    assert "203.0.113.7" not in str(entry.metadata)


def test_a_customer_without_email_gets_no_subject_key(team_a):
    customer = CustomerFactory(owner_team=team_a, email=None)
    assert record(customer, ConsentStatus.GRANTED).subject_key == ""


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"purpose": "carrier_pigeons"}, "purpose"),
        ({"channel": "sms"}, "channel"),
        ({"channel": "fax"}, "channel"),
        ({"status": "maybe"}, "status"),
        ({"source": "rumour"}, "source"),
        ({"lawful_basis": "whim"}, "lawful_basis"),
        ({"evidence": ["not", "an", "object"]}, "evidence"),
        ({"evidence": {"user_agent": "x" * 5000}}, "evidence"),
        ({"status": "withdrawn", "expires_at": "future"}, "expires_at"),
        ({"expires_at": "past"}, "expires_at"),
    ],
    ids=[
        "unknown-purpose",
        "channel-not-of-purpose",
        "unknown-channel",
        "unknown-status",
        "unknown-source",
        "unknown-basis",
        "evidence-not-object",
        "evidence-too-large",
        "expiring-withdrawal",
        "expiry-in-past",
    ],
)
def test_bad_input_names_the_field_and_records_nothing(customer, options, field):
    now = timezone.now()
    expiry = {"future": now + datetime.timedelta(days=1), "past": now - datetime.timedelta(days=1)}
    if "expires_at" in options:
        options["expires_at"] = expiry[options["expires_at"]]
    status = options.pop("status", ConsentStatus.GRANTED)

    with pytest.raises(ConsentError) as caught:
        record(customer, status, **options)

    assert caught.value.field == field
    assert not ConsentEvent.objects.exists()
    assert not AuditEntry.objects.filter(action="consent.record").exists()


def test_an_inactive_purpose_cannot_be_recorded(customer):
    ConsentPurpose.objects.filter(code="sms_marketing").update(is_active=False)
    with pytest.raises(ConsentError, match="purpose"):
        record(customer, ConsentStatus.GRANTED, purpose="sms_marketing", channel="sms")


# --- Append-only, enforced by the database -------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE privacy_consentevent SET status = 'granted' WHERE id = %s",
        "DELETE FROM privacy_consentevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_raw_sql_from_the_apps_role_cannot_change_an_event(customer, statement):
    event = record(customer, ConsentStatus.WITHDRAWN)

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])

    event.refresh_from_db()
    assert event.status == ConsentStatus.WITHDRAWN


@pytest.mark.parametrize(
    "change",
    [
        lambda events: events.update(status="granted"),
        lambda events: events.delete(),
        lambda events: _save_changed(events.get()),
    ],
    ids=["queryset-update", "queryset-delete", "instance-save"],
)
def test_the_orm_cannot_change_an_event_either(customer, change):
    record(customer, ConsentStatus.WITHDRAWN)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        change(ConsentEvent.objects.all())

    assert list(ConsentEvent.objects.values_list("status", flat=True)) == ["withdrawn"]


def _save_changed(event):
    event.status = ConsentStatus.GRANTED
    event.save()


# --- The current state is derived from the events ------------------------------------------


def test_grant_then_withdraw_is_withdrawn(customer):
    record(customer, ConsentStatus.GRANTED)
    record(customer, ConsentStatus.WITHDRAWN, source=ConsentSource.STAFF)

    email = next(row for row in consent_state(customer) if row["purpose_code"] == "email_marketing")

    assert (email["status"], email["source"], email["is_granted"]) == ("withdrawn", "staff", False)
    assert consents_allow([customer.pk], "email_marketing", "email") == set()
    assert ConsentEvent.objects.count() == 2


def test_events_of_the_same_instant_resolve_to_the_last_recorded(customer, team_a):
    same_time = timezone.now()
    ConsentEvent.objects.bulk_create(
        ConsentEvent(
            owner_team=team_a,
            customer_id=customer.pk,
            purpose=ConsentPurpose.objects.get(code="email_marketing"),
            channel="email",
            status=status,
            source="api",
            occurred_at=same_time,
        )
        for status in ("withdrawn", "granted")
    )
    assert consents_allow([customer.pk], "email_marketing", "email") == {customer.pk}


def test_an_expired_grant_does_not_allow(customer):
    event = record(
        customer, ConsentStatus.GRANTED, expires_at=timezone.now() + datetime.timedelta(days=30)
    )
    later = event.expires_at + datetime.timedelta(seconds=1)

    assert consents_allow([customer.pk], "email_marketing", "email") == {customer.pk}
    assert consents_allow([customer.pk], "email_marketing", "email", now=later) == set()
    email = consent_state(customer, now=later)[0]
    assert (email["status"], email["is_expired"], email["is_granted"]) == (
        "granted",
        True,
        False,
    )


def test_state_lists_every_active_purpose_and_channel_in_one_query(
    customer, django_assert_num_queries
):
    record(customer, ConsentStatus.GRANTED)
    record(customer, ConsentStatus.DENIED, purpose="profiling", channel="any")

    with django_assert_num_queries(1):
        state = consent_state(customer)

    assert [(row["purpose_code"], row["channel"], row["status"]) for row in state] == [
        ("email_marketing", "email", "granted"),
        ("profiling", "any", "denied"),
        ("sms_marketing", "sms", None),
        ("third_party_sharing", "any", None),
        ("wechat_marketing", "wechat", None),
    ]


def test_allow_is_one_query_over_many_customers_and_takes_a_queryset(
    team_a, team_b, django_assert_num_queries
):
    people = CustomerFactory.create_batch(6, owner_team=team_a)
    granted, withdrawn, sms_only, _never, expired, other_purpose = people
    record(granted, ConsentStatus.GRANTED)
    record(withdrawn, ConsentStatus.GRANTED)
    record(withdrawn, ConsentStatus.WITHDRAWN)
    record(sms_only, ConsentStatus.GRANTED, purpose="sms_marketing", channel="sms")
    ConsentEvent.objects.bulk_create(
        [
            ConsentEvent(
                owner_team=team_a,
                customer_id=expired.pk,
                purpose=ConsentPurpose.objects.get(code="email_marketing"),
                channel="email",
                status="granted",
                source="api",
                occurred_at=timezone.now() - datetime.timedelta(days=400),
                expires_at=timezone.now() - datetime.timedelta(days=35),
            )
        ]
    )
    record(other_purpose, ConsentStatus.GRANTED, purpose="profiling", channel="any")
    ids = [person.pk for person in people]

    with django_assert_num_queries(1):
        allowed = consents_allow(ids, "email_marketing", "email")
    with django_assert_num_queries(1):
        from_queryset = consents_allow(
            Customer.objects.filter(owner_team=team_a).values("pk"), "email_marketing", "email"
        )

    assert allowed == from_queryset == {granted.pk}
    assert consents_allow([], "email_marketing", "email") == set()


def test_history_is_newest_first(customer, django_assert_num_queries):
    first = record(customer, ConsentStatus.GRANTED)
    second = record(customer, ConsentStatus.WITHDRAWN)
    with django_assert_num_queries(1):
        history = consent_history(customer)
        assert [(event.pk, event.purpose.code) for event in history] == [
            (second.pk, "email_marketing"),
            (first.pk, "email_marketing"),
        ]


# --- Bulk recording (imports) --------------------------------------------------------------


def test_bulk_records_many_customers_set_based_and_audits_once(
    team_a, marketer_a, django_assert_num_queries
):
    people = CustomerFactory.create_batch(40, owner_team=team_a)
    statuses = {
        person.pk: ConsentStatus.GRANTED if index % 2 else ConsentStatus.DENIED
        for index, person in enumerate(people)
    }

    # Savepoint, purpose, customers, current state, one INSERT, audit, release: 7 for any size.
    with django_assert_num_queries(7):
        result = consents_record_bulk(
            team=team_a,
            purpose_code="email_marketing",
            channel="email",
            statuses=statuses,
            source=ConsentSource.IMPORT,
            source_reference="import:7",
            actor=marketer_a,
        )

    assert (result.recorded, result.unchanged, result.kept_withdrawn) == (40, 0, 0)
    assert consents_allow(statuses, "email_marketing", "email") == {
        pk for pk, status in statuses.items() if status == "granted"
    }
    events = ConsentEvent.objects.filter(source="import", source_reference="import:7")
    assert events.count() == 40
    assert {event.subject_key for event in events} == {
        blind_index(person.email, purpose="email") for person in people
    }
    entry = AuditEntry.objects.get(action="consent.record_bulk")
    assert entry.actor == marketer_a
    assert entry.metadata == {
        "purpose": "email_marketing",
        "channel": "email",
        "source": "import",
        "source_reference": "import:7",
        "recorded": {"granted": 20, "denied": 20},
        "unchanged": 0,
        "kept_withdrawn": 0,
    }


def test_bulk_again_adds_nothing_and_never_undoes_a_withdrawal(team_a):
    kept, withdrew, refused = CustomerFactory.create_batch(3, owner_team=team_a)
    arguments = {
        "team": team_a,
        "purpose_code": "email_marketing",
        "channel": "email",
        "source": ConsentSource.IMPORT,
    }
    consents_record_bulk(
        statuses={kept.pk: "granted", withdrew.pk: "granted", refused.pk: "denied"}, **arguments
    )
    record(withdrew, ConsentStatus.WITHDRAWN, source=ConsentSource.UNSUBSCRIBE)

    result = consents_record_bulk(
        statuses={kept.pk: "granted", withdrew.pk: "granted", refused.pk: "denied"}, **arguments
    )

    assert (result.recorded, result.unchanged, result.kept_withdrawn) == (0, 2, 1)
    assert consents_allow([kept.pk, withdrew.pk], "email_marketing", "email") == {kept.pk}
    assert ConsentEvent.objects.count() == 4


def test_bulk_refuses_customers_of_another_team(team_a, team_b):
    ours, theirs = CustomerFactory(owner_team=team_a), CustomerFactory(owner_team=team_b)
    with pytest.raises(ConsentError) as caught:
        consents_record_bulk(
            team=team_a,
            purpose_code="email_marketing",
            channel="email",
            statuses={ours.pk: "granted", theirs.pk: "granted"},
            source=ConsentSource.IMPORT,
        )
    assert caught.value.field == "customer"
    assert not ConsentEvent.objects.exists()


# --- Privacy notices -----------------------------------------------------------------------


def test_a_notice_is_published_with_its_hash_and_never_changes(steward):
    notice = notice_publish(version="v1", language="EN", text="Our notice.", actor=steward)

    assert (notice.language, notice.text_sha256) == ("en", PrivacyNotice.hash_text("Our notice."))
    assert notice_publish(version="v1", language="en", text="Our notice.", actor=steward) == notice
    with pytest.raises(ConsentError) as caught:
        notice_publish(version="v1", language="en", text="Changed text.", actor=steward)
    assert caught.value.field == "version"
    assert PrivacyNotice.objects.get().text == "Our notice."
    entry = AuditEntry.objects.get(action="privacy_notice.publish")
    assert entry.metadata == {"version": "v1", "language": "en", "sha256": notice.text_sha256}


# --- Double opt-in -------------------------------------------------------------------------


@pytest.fixture
def public_site(settings):
    settings.PUBLIC_BASE_URL = "https://news.example.com"


def confirmation_token(message) -> str:
    match = re.search(r"https://news\.example\.com/confirm/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


def test_double_opt_in_sends_a_signed_link_and_confirming_records_the_grant(
    customer, marketer_a, public_site
):
    double_opt_in_send(customer=customer, purpose_code="email_marketing", actor=marketer_a)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"]
    assert "Email marketing" in message.subject
    assert "https://news.example.com/preferences/" in message.body
    assert not ConsentEvent.objects.exists()
    sent = AuditEntry.objects.get(action="consent.double_opt_in_sent")
    assert (sent.actor, sent.object_id, sent.metadata) == (
        marketer_a,
        str(customer.pk),
        {"purpose": "email_marketing", "channel": "email"},
    )

    event = double_opt_in_confirm(token=confirmation_token(message), evidence=EVIDENCE)

    assert (event.customer_id, event.purpose.code, event.channel, event.status, event.source) == (
        customer.pk,
        "email_marketing",
        "email",
        "granted",
        "double_opt_in",
    )
    assert event.evidence == EVIDENCE
    assert consents_allow([customer.pk], "email_marketing", "email") == {customer.pk}
    assert AuditEntry.objects.filter(action="consent.record", object_id=str(event.pk)).exists()


def test_the_confirmation_email_names_the_purpose_in_the_customers_language(customer, public_site):
    customer.language = "zh"
    customer.save(update_fields=["language"])
    double_opt_in_send(customer=customer, purpose_code="email_marketing")
    assert "邮件营销" in mail.outbox[0].subject
    assert "Email marketing" not in mail.outbox[0].body


def test_a_confirmation_link_grants_once_even_after_a_withdrawal(customer, public_site):
    token = double_opt_in_send(customer=customer, purpose_code="email_marketing")
    first = double_opt_in_confirm(token=token, evidence=EVIDENCE)
    record(customer, ConsentStatus.WITHDRAWN, source=ConsentSource.UNSUBSCRIBE)

    assert double_opt_in_confirm(token=token, evidence=EVIDENCE) == first
    assert consents_allow([customer.pk], "email_marketing", "email") == set()


class EightDaysAgoSigner(signing.TimestampSigner):
    """Signs as if it were eight days ago: one day past the double opt-in link's lifetime."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)


@pytest.mark.parametrize(
    "spoil",
    ["forged", "expired", "other_salt", "address_changed", "customer_gone"],
)
def test_a_bad_confirmation_link_records_nothing(customer, public_site, spoil):
    token = double_opt_in_send(customer=customer, purpose_code="email_marketing")
    if spoil == "forged":
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif spoil == "expired":
        token = EightDaysAgoSigner(salt=DOUBLE_OPT_IN_SALT).sign_object(
            signing.TimestampSigner(salt=DOUBLE_OPT_IN_SALT).unsign_object(token)
        )
    elif spoil == "other_salt":
        token = signing.TimestampSigner(salt="marketbase.preferences").sign_object(
            signing.TimestampSigner(salt=DOUBLE_OPT_IN_SALT).unsign_object(token)
        )
    elif spoil == "address_changed":
        customer.email = "someone.else@example.com"
        customer.save()
    elif spoil == "customer_gone":
        customer.delete()

    with pytest.raises(InvalidLink):
        double_opt_in_confirm(token=token, evidence=EVIDENCE)
    assert not ConsentEvent.objects.exists()


def test_double_opt_in_needs_an_email_purpose_and_address(team_a, public_site):
    without_email = CustomerFactory(owner_team=team_a, email=None)
    with pytest.raises(ConsentError) as no_address:
        double_opt_in_send(customer=without_email, purpose_code="email_marketing")
    with pytest.raises(ConsentError) as not_email:
        double_opt_in_send(customer=CustomerFactory(owner_team=team_a), purpose_code="profiling")
    assert (no_address.value.field, not_email.value.field) == ("customer", "purpose")
    assert mail.outbox == []


# --- Merges of customer profiles -----------------------------------------------------------


def test_a_merge_carries_the_latest_decision_of_either_profile(team_a):
    survivor = CustomerFactory(owner_team=team_a)
    merged = CustomerFactory(owner_team=team_a)
    record(survivor, ConsentStatus.GRANTED)
    record(merged, ConsentStatus.WITHDRAWN, source=ConsentSource.UNSUBSCRIBE)
    record(merged, ConsentStatus.DENIED, purpose="sms_marketing", channel="sms")
    record(merged, ConsentStatus.GRANTED, purpose="profiling", channel="any")
    record(survivor, ConsentStatus.WITHDRAWN, purpose="profiling", channel="any")

    customer_merge(survivor=survivor, merged=merged)

    state = {row["purpose_code"]: row["status"] for row in consent_state(survivor) if row["status"]}
    assert state == {
        "email_marketing": "withdrawn",
        "sms_marketing": "denied",
        "profiling": "withdrawn",
    }
    copied = ConsentEvent.objects.filter(
        customer_id=survivor.pk, source_reference=f"merge:{merged.pk}"
    )
    assert sorted(copied.values_list("source", flat=True)) == ["form", "unsubscribe"]
    assert AuditEntry.objects.get(action="consent.merge").metadata == {
        "merged_customer": merged.pk,
        "copied": 2,
    }


def test_undoing_a_merge_takes_the_other_persons_consent_away(team_a):
    survivor = CustomerFactory(owner_team=team_a)
    merged = CustomerFactory(owner_team=team_a)
    record(survivor, ConsentStatus.GRANTED, purpose="profiling", channel="any")
    record(merged, ConsentStatus.GRANTED)
    record(merged, ConsentStatus.WITHDRAWN, purpose="profiling", channel="any")
    customer_merge(survivor=survivor, merged=merged)
    assert consents_allow([survivor.pk], "email_marketing", "email") == {survivor.pk}
    assert consents_allow([survivor.pk], "profiling", "any") == set()

    customer_merge_undo(survivor=survivor)

    assert consents_allow([survivor.pk], "email_marketing", "email") == set()
    assert consents_allow([survivor.pk], "profiling", "any") == {survivor.pk}
    assert consents_allow([merged.pk], "email_marketing", "email") == {merged.pk}
    assert AuditEntry.objects.filter(action="consent.merge_undo").count() == 1


def test_missing_default_purposes_are_created_again_and_existing_ones_kept():
    ConsentPurpose.objects.filter(code="email_marketing").update(is_active=False, name="Mail")
    ConsentPurpose.objects.filter(code="sms_marketing").delete()

    assert consent_purposes_ensure() == 1
    assert consent_purposes_ensure() == 0

    assert ConsentPurpose.objects.get(code="sms_marketing").channels == ["sms"]
    email = ConsentPurpose.objects.get(code="email_marketing")
    assert (email.name, email.is_active) == ("Mail", False)
