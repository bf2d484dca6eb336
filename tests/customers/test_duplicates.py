"""Fuzzy duplicate candidates: found in one SQL statement, decided (merge or dismiss) by staff."""

import datetime

import pytest

from customers.models import Customer, DuplicateCandidate, DuplicateStatus, MergeRecord
from customers.services.duplicates import duplicate_decide, duplicates_find
from privacy.core import roles
from privacy.core.crypto import name_index
from privacy.models import AuditEntry

BIRTH_DATE = datetime.date(1985, 3, 7)


def make_customer(team, given="Ada", family="Lovelace", **fields) -> Customer:
    return Customer.objects.create(
        owner_team=team,
        given_name=given,
        family_name=family,
        name_index=name_index(given, family),
        **fields,
    )


def candidates() -> list[tuple[int, int, str, str]]:
    return list(
        DuplicateCandidate.objects.order_by("first_id", "second_id").values_list(
            "first_id", "second_id", "reason", "status"
        )
    )


@pytest.fixture
def steward_a(make_user, team_a):
    return make_user(roles.DATA_STEWARD, team_a)


def test_same_name_and_birth_date_is_a_candidate(team_a):
    # Given two customers with the same name and birth date, but nothing else in common
    first = make_customer(team_a, birth_date=BIRTH_DATE, city="London")
    second = make_customer(team_a, birth_date=BIRTH_DATE, city="Paris")

    # When duplicates are searched
    found = duplicates_find(team_id=team_a.pk)

    # Then the pair is an open candidate of their team, the older profile first
    assert found == 1
    assert candidates() == [(first.pk, second.pk, "same name and birth date", "open")]
    assert DuplicateCandidate.objects.get().owner_team == team_a


@pytest.mark.parametrize(
    ("first_place", "second_place"),
    [
        pytest.param({"city": "Berlin"}, {"city": "BERLIN "}, id="city-ignoring-case"),
        pytest.param({"postal_code": "SW1A 1AA"}, {"postal_code": "sw1a1aa"}, id="postal-code"),
    ],
)
def test_same_name_and_place_is_a_candidate(team_a, first_place, second_place):
    # Given two customers with the same name in the same place, birth dates unknown
    first = make_customer(team_a, **first_place)
    second = make_customer(team_a, **second_place)

    # When duplicates are searched
    found = duplicates_find()

    # Then the pair is a candidate for the same place
    assert found == 1
    assert candidates() == [(first.pk, second.pk, "same name and place", "open")]


def test_name_tokens_are_compared_as_a_set(team_a):
    # Given the same person with given and family names swapped
    first = make_customer(team_a, "Wang", "Xiuhua", birth_date=BIRTH_DATE)
    second = make_customer(team_a, "Xiuhua", "Wang", birth_date=BIRTH_DATE)

    # When duplicates are searched, Then they are a candidate
    assert duplicates_find() == 1
    assert candidates() == [(first.pk, second.pk, "same name and birth date", "open")]


def test_a_pair_matching_several_ways_is_suggested_once_for_its_birth_date(team_a):
    # Given two customers with the same name, birth date, city and postal code
    place = {"birth_date": BIRTH_DATE, "city": "Lyon", "postal_code": "69001"}
    first = make_customer(team_a, **place)
    second = make_customer(team_a, **place)

    # When duplicates are searched, Then there is one candidate, for the birth date
    assert duplicates_find() == 1
    assert candidates() == [(first.pk, second.pk, "same name and birth date", "open")]


def test_three_profiles_of_one_person_make_three_pairs(team_a):
    # Given three profiles with the same name and birth date
    ids = [make_customer(team_a, birth_date=BIRTH_DATE).pk for _ in range(3)]

    # When duplicates are searched, Then each pair is a candidate
    assert duplicates_find() == 3
    reason = "same name and birth date"
    assert candidates() == [
        (ids[0], ids[1], reason, "open"),
        (ids[0], ids[2], reason, "open"),
        (ids[1], ids[2], reason, "open"),
    ]


@pytest.mark.parametrize(
    ("first_fields", "second_fields"),
    [
        pytest.param(
            {"given": "Ada", "family": "Lovelace"},
            {"given": "Ada", "family": "King"},
            id="different-family-name",
        ),
        pytest.param(
            {"given": "Ada", "family": "Lovelace"},
            {"given": "Ada Augusta", "family": "Lovelace"},
            id="one-name-has-an-extra-token",
        ),
        pytest.param(
            {"birth_date": BIRTH_DATE},
            {"birth_date": BIRTH_DATE + datetime.timedelta(days=1)},
            id="different-birth-date",
        ),
        pytest.param({}, {}, id="same-name-only"),
        pytest.param({"city": "London"}, {"city": "Leeds"}, id="different-city"),
        pytest.param(
            {"given": "", "family": "", "birth_date": BIRTH_DATE},
            {"given": "", "family": "", "birth_date": BIRTH_DATE},
            id="no-name",
        ),
    ],
)
def test_not_a_candidate(team_a, first_fields, second_fields):
    # Given two customers that differ in name or in birth date and place
    make_customer(team_a, **first_fields)
    make_customer(team_a, **second_fields)

    # When duplicates are searched, Then nothing is suggested
    assert duplicates_find() == 0
    assert candidates() == []


@pytest.mark.parametrize(
    ("first_fields", "second_fields"),
    [
        pytest.param(
            {"birth_date": BIRTH_DATE, "city": "Shanghai", "country": "CN"},
            {"birth_date": datetime.date(1992, 11, 2), "city": "Shanghai", "country": "US"},
            id="common-name-same-city-other-birth-date-and-country",
        ),
        pytest.param(
            {"birth_date": BIRTH_DATE, "postal_code": "200001"},
            {"birth_date": datetime.date(1992, 11, 2), "postal_code": "200001"},
            id="same-postal-code-other-birth-date",
        ),
        pytest.param(
            {"birth_date": BIRTH_DATE, "country": "CN"},
            {"birth_date": BIRTH_DATE, "country": "US"},
            id="same-birth-date-other-country",
        ),
        pytest.param(
            {"country": "CN", "email_domain": "example.com"},
            {"country": "CN", "email_domain": "example.com"},
            id="same-country-and-email-domain-but-no-birth-date-or-place",
        ),
    ],
)
def test_a_shared_name_with_conflicting_or_weak_evidence_is_not_a_candidate(
    team_a, first_fields, second_fields
):
    # Given two namesakes whose birth dates or countries differ, or who share too little
    make_customer(team_a, "Wei", "Wang", **first_fields)
    make_customer(team_a, "Wei", "Wang", **second_fields)

    # When duplicates are searched, Then they are not proposed
    assert duplicates_find() == 0
    assert candidates() == []


def test_pairs_are_scored_by_what_matches(team_a):
    # Given a pair alike in everything, one sharing name and birth date, one name and city
    everything = {
        "birth_date": BIRTH_DATE,
        "postal_code": "OX1 2JD",
        "city": "Oxford",
        "country": "GB",
        "email_domain": "example.com",
    }
    alike = [make_customer(team_a, "Ada", "Lovelace", **everything) for _ in range(2)]
    born = [make_customer(team_a, "Bo", "Diddley", birth_date=BIRTH_DATE) for _ in range(2)]
    placed = [make_customer(team_a, "Cy", "Young", city=city) for city in ("Boston", "boston ")]

    # When duplicates are searched
    assert duplicates_find() == 3

    # Then each pair has its score and what matched
    scored = {
        (pair.first_id, pair.second_id): (pair.score, pair.reasons)
        for pair in DuplicateCandidate.objects.all()
    }
    assert scored == {
        (alike[0].pk, alike[1].pk): (
            100,
            ["name", "birth_date", "postal_code", "city", "email_domain"],
        ),
        (born[0].pk, born[1].pk): (70, ["name", "birth_date"]),
        (placed[0].pk, placed[1].pk): (50, ["name", "city"]),
    }


def test_a_common_name_needs_more_than_a_city(team_a):
    # Given six strangers called Wei Wang in Shanghai, birth dates unknown, and two of them
    # born on the same day
    for _number in range(4):
        make_customer(team_a, "Wei", "Wang", city="Shanghai")
    twins = [make_customer(team_a, "Wei", "Wang", city="Shanghai", birth_date=BIRTH_DATE)]
    twins.append(make_customer(team_a, "Wei", "Wang", city="Shanghai", birth_date=BIRTH_DATE))

    # When duplicates are searched
    found = duplicates_find()

    # Then only the two who also share a birth date are proposed, the name counted as common
    assert found == 1
    pair = DuplicateCandidate.objects.get()
    assert (pair.first_id, pair.second_id) == (twins[0].pk, twins[1].pk)
    assert (pair.score, pair.reasons) == (65, ["common_name", "birth_date", "city"])


def test_an_open_pair_is_scored_again_when_its_customers_change(team_a):
    # Given a pair proposed for its name and city
    first = make_customer(team_a, city="Oxford")
    make_customer(team_a, city="Oxford", birth_date=BIRTH_DATE)
    duplicates_find()

    # When the first learns the same birth date, and duplicates are searched again
    Customer.objects.filter(pk=first.pk).update(birth_date=BIRTH_DATE)
    found = duplicates_find()

    # Then nothing was added, and the open pair now scores for its birth date too
    assert found == 0
    pair = DuplicateCandidate.objects.get()
    assert (pair.score, pair.reasons, pair.reason) == (
        80,
        ["name", "birth_date", "city"],
        "same name and birth date",
    )


def test_customers_of_different_teams_are_not_candidates(team_a, team_b):
    # Given the same name and birth date in two teams
    make_customer(team_a, birth_date=BIRTH_DATE)
    make_customer(team_b, birth_date=BIRTH_DATE)

    # When duplicates are searched in every team, Then nothing is suggested
    assert duplicates_find() == 0


def test_merged_customers_are_not_candidates(team_a):
    # Given a profile already merged into another with the same name and birth date
    survivor = make_customer(team_a, birth_date=BIRTH_DATE)
    make_customer(team_a, birth_date=BIRTH_DATE, merged_into=survivor)

    # When duplicates are searched, Then nothing is suggested
    assert duplicates_find() == 0


def test_search_can_be_limited_to_one_team(team_a, team_b):
    # Given a duplicate pair in each team
    for team in (team_a, team_b):
        make_customer(team, birth_date=BIRTH_DATE)
        make_customer(team, birth_date=BIRTH_DATE)

    # When team B is searched, Then only its pair is suggested
    assert duplicates_find(team_id=team_b.pk) == 1
    assert list(DuplicateCandidate.objects.values_list("owner_team", flat=True)) == [team_b.pk]


def test_second_search_adds_nothing_and_decided_pairs_do_not_come_back(team_a, steward_a):
    # Given a suggested pair that was dismissed, and an open one
    make_customer(team_a, birth_date=BIRTH_DATE)
    make_customer(team_a, birth_date=BIRTH_DATE)
    make_customer(team_a, "Bo", "Diddley", city="Chicago")
    make_customer(team_a, "Bo", "Diddley", city="chicago")
    assert duplicates_find() == 2
    dismissed = DuplicateCandidate.objects.get(reason="same name and birth date")
    duplicate_decide(actor=steward_a, candidate=dismissed, merge=False)
    before = candidates()

    # When duplicates are searched again
    found = duplicates_find()

    # Then nothing was added and the audit log has only the first search
    assert found == 0
    assert candidates() == before
    assert AuditEntry.objects.filter(action="duplicates.find").count() == 1


@pytest.mark.parametrize("pairs", [1, 20], ids=["1-pair", "20-pairs"])
def test_search_is_one_statement_whatever_the_number_of_pairs(
    team_a, pairs, django_assert_num_queries
):
    # Given some duplicate pairs
    for number in range(pairs):
        make_customer(team_a, "Twin", str(number), birth_date=BIRTH_DATE)
        make_customer(team_a, "Twin", str(number), birth_date=BIRTH_DATE)

    # When searched, Then: savepoint, the insert, the audit row, release
    with django_assert_num_queries(4):
        assert duplicates_find(team_id=team_a.pk) == pairs


@pytest.fixture
def open_pair(team_a):
    """Two profiles of one person: the first knows the city, the second the postal code."""
    make_customer(team_a, birth_date=BIRTH_DATE, city="Oxford")
    make_customer(team_a, birth_date=BIRTH_DATE, postal_code="OX1 2JD")
    duplicates_find()
    return DuplicateCandidate.objects.get()


def test_dismissing_keeps_both_customers(open_pair, steward_a):
    # When staff dismiss the candidate
    decided = duplicate_decide(actor=steward_a, candidate=open_pair, merge=False)

    # Then it is dismissed by them, both profiles stay active, and the dismissal is audited
    decided.refresh_from_db()
    assert (decided.status, decided.decided_by) == (DuplicateStatus.DISMISSED, steward_a)
    assert decided.decided_at is not None
    assert (
        Customer.objects.active().filter(pk__in=[open_pair.first_id, open_pair.second_id]).count()
        == 2
    )
    entry = AuditEntry.objects.get(action="duplicate.dismiss")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        steward_a,
        "customers.duplicatecandidate",
        str(open_pair.pk),
    )
    assert entry.metadata == {
        "first_customer": open_pair.first_id,
        "second_customer": open_pair.second_id,
    }
    assert not MergeRecord.objects.exists()


def test_merging_folds_the_newer_profile_into_the_older(open_pair, steward_a):
    # When staff merge the candidate
    decided = duplicate_decide(actor=steward_a, candidate=open_pair, merge=True)

    # Then the second profile is merged into the first, and the merge is audited
    decided.refresh_from_db()
    assert (decided.status, decided.decided_by) == (DuplicateStatus.MERGED, steward_a)
    assert decided.decided_at is not None
    second = Customer.objects.get(pk=open_pair.second_id)
    assert second.merged_into_id == open_pair.first_id
    survivor = Customer.objects.get(pk=open_pair.first_id)
    assert (survivor.city, survivor.postal_code) == ("Oxford", "OX1 2JD")
    record = MergeRecord.objects.get()
    assert (record.survivor_id, record.merged_id, record.reason, record.performed_by) == (
        open_pair.first_id,
        open_pair.second_id,
        "duplicate",
        steward_a,
    )
    entry = AuditEntry.objects.get(action="customer.merge")
    assert (entry.actor, entry.object_id) == (steward_a, str(open_pair.first_id))
    assert entry.metadata["reason"] == "duplicate"
    assert not AuditEntry.objects.filter(action="duplicate.dismiss").exists()


@pytest.mark.parametrize(
    ("first_decision", "second_decision"),
    [
        pytest.param(False, False, id="dismiss-then-dismiss"),
        pytest.param(False, True, id="dismiss-then-merge"),
        pytest.param(True, False, id="merge-then-dismiss"),
        pytest.param(True, True, id="merge-then-merge"),
    ],
)
def test_deciding_twice_is_refused(open_pair, steward_a, first_decision, second_decision):
    # Given a decided candidate
    duplicate_decide(actor=steward_a, candidate=open_pair, merge=first_decision)
    audit_count = AuditEntry.objects.count()
    status = DuplicateCandidate.objects.get().status

    # When it is decided again, Then it is refused and nothing changes
    with pytest.raises(ValueError, match="already"):
        duplicate_decide(actor=steward_a, candidate=open_pair, merge=second_decision)
    assert DuplicateCandidate.objects.get().status == status
    assert AuditEntry.objects.count() == audit_count
    assert MergeRecord.objects.count() == int(first_decision)
