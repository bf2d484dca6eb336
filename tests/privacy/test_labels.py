"""Every code staff read has a name in English and in Chinese (``privacy.core.labels``); the
audit log shows those names, links what still exists and filters by days of the user's zone."""

import ast
import datetime
import re
import zoneinfo

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.template import Context, Template
from django.utils import translation

from customers.models import Channel
from customers.services.enrichment import RFM_GROUP_RULES
from customers.services.retention import (
    CUSTOMER_LABEL,
    EVENT_LABEL,
    IMPORT_FILE_LABEL,
    IMPORT_ROW_LABEL,
    PURCHASE_LABEL,
)
from privacy.core import labels as registry
from privacy.core.labels import label, labels
from privacy.core.services.audit import audit_record
from privacy.models import ConsentPurpose, StaffProfile
from privacy.retention.services import AUDIT_ENTRY_LABEL, PACKAGE_LABEL
from tests.customers.factories import CustomerFactory

PROJECT_APPS = ("customers", "privacy", "segments", "campaigns", "config")
# Calls whose ``action`` is an audit action: the one writer, the audit model itself (a bulk
# insert, a data migration) and the requests package's helper (its first argument).
AUDIT_WRITERS = {"audit_record", "AuditEntry", "audit_model"}


def _name(node: ast.expr) -> str:
    return getattr(node, "id", getattr(node, "attr", ""))


def _written_actions() -> tuple[set[str], set[str]]:
    """The audit actions the code base writes, as literal strings and as f-string patterns."""
    literals, patterns = set(), set()
    for app in PROJECT_APPS:
        for path in (settings.BASE_DIR / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                values = []
                if _name(node.func) == "request_audit" and node.args:
                    values.append(node.args[0])
                if _name(node.func) in AUDIT_WRITERS or (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr == "create"
                    and _name(node.func.value) == "objects"
                    and "audit" in ast.unparse(node.func.value.value).lower()
                ):
                    values += [kw.value for kw in node.keywords if kw.arg == "action"]
                while any(isinstance(value, ast.IfExp) for value in values):
                    values = [
                        part
                        for value in values
                        for part in (
                            (value.body, value.orelse) if isinstance(value, ast.IfExp) else (value,)
                        )
                    ]
                for value in values:
                    if isinstance(value, ast.Constant):
                        literals.add(value.value)
                    elif isinstance(value, ast.JoinedStr):
                        patterns.add(
                            "".join(
                                re.escape(part.value)
                                if isinstance(part, ast.Constant)
                                else "[a-z_]+"
                                for part in value.values
                            )
                        )
                    elif not (
                        isinstance(value, ast.Name)
                        and path.name in {"lifecycle.py", "audit.py"}  # helpers passing it on
                    ):
                        raise AssertionError(f"{path}: an audit action this test cannot read")
    return literals, patterns


def _assert_named_in_both_languages(kind: str, code: str) -> None:
    with translation.override("en"):
        english = label(kind, code)
    with translation.override("zh-hans"):
        chinese = label(kind, code)
    assert code in labels(kind), f"{kind} {code!r} has no label"
    assert english and "_" not in english, f"{kind} {code!r}: no English name"
    # An acronym (CRM, API) is written the same in Chinese; every other name is translated.
    assert chinese != english or english.isupper(), f"{kind} {code!r}: no Chinese name"


def test_the_scan_finds_the_audit_actions_it_is_meant_to_find():
    literals, patterns = _written_actions()
    # one of each way of writing: audit_record, request_audit, bulk insert, data migration
    assert {
        "auth.mfa_ok",
        "request.verify",
        "request.package_delete",
        "mfa.enrol_failed",
    } <= literals
    assert "api_token.move_stock" in literals
    assert r"[a-z_]+\.ingest" in patterns


def test_every_audit_action_the_code_writes_has_an_english_and_a_chinese_name():
    literals, patterns = _written_actions()
    for action in sorted(literals):
        _assert_named_in_both_languages(registry.AUDIT_ACTION, action)
    for pattern in patterns:
        matching = [code for code in labels(registry.AUDIT_ACTION) if re.fullmatch(pattern, code)]
        assert matching, f"no audit action registered for {pattern}"
    for action in labels(registry.AUDIT_ACTION):
        _assert_named_in_both_languages(registry.AUDIT_ACTION, action)


@pytest.mark.django_db
def test_every_channel_event_type_purpose_and_stored_code_has_both_names():
    expected = {
        registry.CHANNEL: [channel.value for channel in Channel],
        registry.CONSENT_PURPOSE: list(ConsentPurpose.objects.values_list("code", flat=True)),
        registry.RFM_GROUP: [group for group, _recency, _frequency in RFM_GROUP_RULES],
        registry.RETENTION_TABLE: [
            EVENT_LABEL,
            PURCHASE_LABEL,
            CUSTOMER_LABEL,
            IMPORT_ROW_LABEL,
            IMPORT_FILE_LABEL,
            AUDIT_ENTRY_LABEL,
            PACKAGE_LABEL,
        ],
        registry.EVENT_TYPE: ["page_view", "email_open", "email_click", "newsletter_signup"],
        registry.AGE_BAND: ["<18", "18-24", "65+"],
        registry.MERGE_REASON: ["duplicate", "staff", "admin", "api", "import", "web"],
        registry.CONSENT_SOURCE: ["import", "merge", "double_opt_in"],
    }
    assert expected[registry.CONSENT_PURPOSE], "the default purposes exist"
    for kind, codes in expected.items():
        for code in codes:
            _assert_named_in_both_languages(kind, code)
    for kind in registry.KINDS:
        for code in labels(kind):
            _assert_named_in_both_languages(kind, code)


def test_every_model_of_the_project_names_its_object_type():
    for app in ("customers", "privacy"):
        for model in apps.get_app_config(app).get_models():
            assert model._meta.label_lower in labels(registry.OBJECT_TYPE), model


def test_an_unknown_code_reads_as_words_and_never_fails():
    assert label(registry.EVENT_TYPE, "webinar_joined") == "Webinar joined"
    assert label(registry.AUDIT_ACTION, "shop.order-synced") == "Shop order synced"
    assert label(registry.CHANNEL, None) == ""
    assert label(registry.CHANNEL, "") == ""
    with pytest.raises(ValueError):
        label("no such kind", "x")
    html = Template(
        '{% load labels %}{{ code|label:"event_type" }}|{{ ref|reference_label:"consent_source" }}'
    )
    with translation.override("zh-hans"):
        rendered = html.render(Context({"code": "page_view", "ref": "import:2"}))
        event, source = (
            label(registry.EVENT_TYPE, "page_view"),
            label(registry.CONSENT_SOURCE, "import"),
        )
    assert rendered == f"{event}|{source} #2"
    assert not re.search(r"[a-z]_[a-z]|import:", rendered)


def test_a_free_text_consent_reference_is_shown_as_written():
    assert registry.reference_label(registry.CONSENT_SOURCE, "Trade fair 2025") == "Trade fair 2025"
    with translation.override("en"):
        assert registry.reference_label(registry.CONSENT_SOURCE, "import:12") == "Import #12"
        assert registry.reference_label(registry.CONSENT_SOURCE, "double_opt_in:ab12") == (
            "Double opt-in link"
        )


@pytest.mark.django_db
def test_a_purpose_keeps_the_name_staff_gave_it():
    purpose = ConsentPurpose.objects.get(code="email_marketing")
    with translation.override("zh-hans"):
        assert purpose.display_name == label(registry.CONSENT_PURPOSE, "email_marketing")
        assert purpose.display_name != purpose.name
        purpose.name = "Our newsletter"
        assert purpose.display_name == "Our newsletter"


# --- The audit page ----------------------------------------------------------------------------


@pytest.fixture
def entries(steward, team_a, team_b):
    own = CustomerFactory(owner_team=team_a)
    gone = CustomerFactory(owner_team=team_a)
    theirs = CustomerFactory(owner_team=team_b)
    made = [
        audit_record(action="auth.mfa_ok", actor=steward),
        audit_record(action="customer.update", actor=steward, target=own),
        audit_record(action="customer.update", actor=steward, target=gone, team_id=team_a.pk),
        audit_record(action="customer.update", actor=steward, target=theirs, team_id=team_a.pk),
    ]
    gone_id = gone.pk
    gone.delete()
    return {"own": own, "gone_id": gone_id, "theirs": theirs, "entries": made}


def test_the_audit_page_names_actions_and_objects_in_chinese(verified_client, steward, entries):
    response = verified_client(steward).get("/privacy/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 200
    with translation.override("zh-hans"):
        assert label(registry.AUDIT_ACTION, "auth.mfa_ok") in html
        assert label(registry.OBJECT_TYPE, "customers.customer") in html
    text = re.sub(r"<[^>]+>", " ", html)  # what is read, not the attributes
    assert "auth.mfa_ok" not in text
    assert "customers.customer" not in text


def test_the_audit_page_links_an_object_only_while_it_exists_and_is_reachable(
    verified_client, steward, entries
):
    html = verified_client(steward).get("/privacy/audit/").content.decode()
    assert f'href="/customers/{entries["own"].pk}/"' in html
    assert f'href="/customers/{entries["gone_id"]}/"' not in html
    assert f'href="/customers/{entries["theirs"].pk}/"' not in html
    assert f"#{entries['gone_id']}" in html  # still named, just not linked


def _entry_at(moment: datetime.datetime, action: str, team) -> None:
    """An audit entry written at ``moment`` (auto_now_add and the append-only log cannot
    back-date one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO privacy_auditentry (occurred_at, actor_label, action, object_type, "
            "object_id, request_id, metadata, team_id) VALUES (%s, '', %s, '', '', '', '{}', %s)",
            [moment, action, team.pk],
        )


def test_the_audit_page_filters_by_days_of_the_users_time_zone(verified_client, steward, team_a):
    StaffProfile.objects.create(user=steward, time_zone="Asia/Shanghai")
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    # 00:30 and 23:30 on 3 May in Shanghai (16:30 on 2 May and 15:30 on 3 May in UTC), and
    # 23:30 on 2 May in Shanghai
    _entry_at(datetime.datetime(2026, 5, 3, 0, 30, tzinfo=shanghai), "case.early", team_a)
    _entry_at(datetime.datetime(2026, 5, 3, 23, 30, tzinfo=shanghai), "case.late", team_a)
    _entry_at(datetime.datetime(2026, 5, 2, 23, 30, tzinfo=shanghai), "case.before", team_a)
    client = verified_client(steward)
    response = client.get(
        "/privacy/audit/", {"action": "case.", "from_day": "2026-05-03", "until_day": "2026-05-03"}
    )
    html = response.content.decode()
    assert 'type="date"' in html
    assert "Asia/Shanghai" in html  # the page says which zone the days are in
    assert html.count("<tr>") - 1 == 2  # header row + the two entries of 3 May in Shanghai
    assert label(registry.AUDIT_ACTION, "case.early") in html
    assert label(registry.AUDIT_ACTION, "case.late") in html
    assert label(registry.AUDIT_ACTION, "case.before") not in html


def test_an_impossible_day_is_a_form_error_not_a_crash(verified_client, steward):
    client = verified_client(steward)
    response = client.get("/privacy/audit/", {"until_day": "9999-12-31"})
    assert response.status_code == 200
    response = client.get("/privacy/audit/", {"from_day": "2026-02-30"})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


def test_labels_module_lists_every_kind():
    assert set(registry.KINDS) == {
        value for name, value in vars(registry).items() if name.isupper() and isinstance(value, str)
    }


def test_the_action_and_object_type_filters_offer_the_names(verified_client, steward):
    with translation.override("zh-hans"):
        expected = label(registry.AUDIT_ACTION, "customer.merge")
    html = verified_client(steward).get("/privacy/audit/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = html.content.decode()
    assert 'list="audit-actions"' in html
    assert f'<option value="customer.merge">{expected}</option>' in html
    assert '<option value="customers.customer">' in html


def test_the_customer_list_names_the_source_channel(verified_client, steward, team_a):
    CustomerFactory(owner_team=team_a, source_channel="wechat")
    response = verified_client(steward).get("/customers/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    cells = re.findall(r"<td>([^<]*)</td>", response.content.decode())
    assert "微信" in cells
    assert "wechat" not in cells


def test_the_dashboard_names_consent_purposes_in_chinese(verified_client, steward, team_a):
    CustomerFactory(owner_team=team_a)
    html = verified_client(steward).get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    with translation.override("zh-hans"):
        assert label(registry.CONSENT_PURPOSE, "sms_marketing") in html
    assert "SMS marketing" not in html


def test_the_audit_admin_names_actions_and_filters_by_name(verified_client, steward, entries):
    client = verified_client(steward)
    page = client.get("/admin/privacy/auditentry/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    with translation.override("zh-hans"):
        assert label(registry.AUDIT_ACTION, "auth.mfa_ok") in html
        assert f">{label(registry.AUDIT_ACTION, 'customer.merge')}</a>" in html  # a filter
    cells = re.findall(r'<td class="field-[a-z_]+">([^<]*)</td>', html)
    assert "auth.mfa_ok" not in cells and "customers.customer" not in cells
    filtered = client.get("/admin/privacy/auditentry/", {"action": "customer.update"})
    assert len(filtered.context["cl"].result_list) == 3
