"""Stored import reasons and warnings are English text, as rows of every release keep them; the
import page shows them in the reader's language, formatted ones (a card number, an ambiguous
date, a custom field's column) included."""

import pytest
from django.utils import translation

from customers.models import ImportJob, ImportRow, ImportStatus, RowOutcome
from customers.normalisation import (
    INVALID_PHONE,
    REJECTED_NO_IDENTIFIER,
    ambiguous_date_reason,
    card_number_reason,
    reason_display,
)
from privacy.core import roles


def test_formatted_warnings_are_translated_with_their_words():
    with translation.override("zh-hans"):
        card = reason_display(card_number_reason("postal_code"))
        date = reason_display(ambiguous_date_reason("Birthday", "day_first"))
        column = reason_display(f"“Size”: {INVALID_PHONE}")
    assert card == "不得在 邮政编码 中存储支付卡号"
    assert "Birthday" in date and "日在前" in date and "ambiguous" not in date
    assert column == "“Size”: 电话无效"
    # what it does not know is shown as stored, in English too
    assert reason_display("something else") == "something else"
    with translation.override("en"):
        assert reason_display(card_number_reason("postal_code")) == (
            "payment card number in postal code must not be stored"
        )


@pytest.mark.django_db
def test_the_import_page_shows_stored_warnings_in_chinese(verified_client, make_user, team_a):
    user = make_user(roles.MARKETER, team_a)
    job = ImportJob.objects.create(
        owner_team=team_a,
        created_by=user,
        file="imports/x.csv",
        status=ImportStatus.SUCCEEDED,
        total_rows=2,
        processed_rows=2,
        rejected_count=1,
        warning_count=1,
    )
    ImportRow.objects.create(
        job=job,
        line_number=2,
        outcome=RowOutcome.CREATED,
        warnings=[card_number_reason("notes"), ambiguous_date_reason("Born", "month_first")],
    )
    ImportRow.objects.create(
        job=job, line_number=3, outcome=RowOutcome.REJECTED, reason=REJECTED_NO_IDENTIFIER
    )
    response = verified_client(user).get(
        f"/customers/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "payment card number" not in html
    assert "ambiguous date" not in html
    assert "no identifier at all" not in html
    with translation.override("zh-hans"):
        assert reason_display(card_number_reason("notes")) in html
