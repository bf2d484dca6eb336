"""The permission matrix: every URL pattern x method x role x own/other team's object.

``MATRIX`` declares, for each route of ``config.urls`` (keyed by its name, or by its pattern
when it has none), how to build its URL for an object of team A (``own``) and of team B
(``other``), and what each role gets for each method. One test fails when a route exists that
the matrix does not declare; the other sends every request and checks the outcome, and for every
refused request that it wrote nothing to the database (PostgreSQL's per-transaction write
counters, which also count work a view rolled back itself; the session row aside, and the audit
entry that records the refusal, which must be nothing but that).

Outcomes, in role order (anonymous, marketer, analyst, steward, administrator, team
administrator); the administrator is a superuser, the team administrator holds the Administrator
role in team A only. Where five outcomes are given, the team administrator's is derived from the
administrator's (``team_administrator_outcome``): the same, except that team B's object is not
found where a superuser reaches it.

- ``ok``: passed the permission gate (2xx, a redirect that is not a refusal, or a 400 that names
  what is wrong with the empty request body we send);
- ``login``: redirected to the sign-in page; ``401``, ``403``, ``404``, ``405``: that status;
- ``admin-index``: the admin's "does not exist" answer, a redirect to its index.

Every request runs in a savepoint that is rolled back, so each starts from the same data and one
request cannot change what the next one sees; cookies are restored after each request. The staff
UI is reached with a TOTP-verified session (``verified_client``), the API with a token.

Over 600 lines: the matrix is one table of every route, kept in one place.
"""

from __future__ import annotations

import copy
import datetime
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from customers.models import CustomField, ImportJob, ImportStatus, ImportTemplate
from customers.services.merge import customer_merge
from privacy.consent.services.links import double_opt_in_token, preference_token
from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import consent_record
from privacy.core import roles
from privacy.core.services.accounts import api_token_create
from privacy.core.services.audit import audit_record
from privacy.models import (
    ApiToken,
    AuditEntry,
    ConsentPurpose,
    ErasureNotification,
    ErasureWebhook,
    StaffProfile,
)
from privacy.requests.services.lifecycle import request_create
from tests.customers.factories import (
    CustomerFactory,
    DuplicateCandidateFactory,
    EventFactory,
    PurchaseFactory,
)
from tests.factories import api_token_for

ROLES = ("anonymous", "marketer", "analyst", "steward", "administrator", "team administrator")
OK = "ok"
REFUSALS = {"login", "401", "403", "404", "405", "admin-index"}
OUTCOMES = REFUSALS | {OK}
DRF_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DJANGO_METHODS = ("GET", "POST")
# What a method the route does not offer answers: the API authenticates first, the staff UI
# sends anonymous visitors to the sign-in page first.
API_NOT_OFFERED = "401 405 405 405 405"
UI_NOT_OFFERED = "login 405 405 405 405"
OWN, OTHER, ONLY = "own", "other", "-"
FOREVER = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)

Kwargs = Callable[["World", str], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """How to reach one route and what each role gets, per variant and method.

    ``expect`` maps variant → method → outcomes in ``ROLES`` order (or five: see the module).
    Variants are ``own`` and ``other`` for routes of one object, ``-`` for the rest, or any names
    a case needs (one per app of the admin's app index). ``kwargs`` builds the URL kwargs of a
    variant; ``path`` replaces reversing for patterns without a name.
    """

    expect: Mapping[str, Mapping[str, str]]
    kwargs: Kwargs | None = None
    path: Callable[[World, str], str] | None = None


def page(**by_method: str) -> Case:
    """A route without an object: ``page(GET="login ok ok ok ok", POST=...)``."""
    return Case(expect={ONLY: by_method})


def owned(kwargs: Kwargs, **by_method: tuple[str, str] | str) -> Case:
    """A route of one object: each method gives (own team's object, other team's object)."""
    expect: dict[str, dict[str, str]] = {OWN: {}, OTHER: {}}
    for method, outcomes in by_method.items():
        own, other = (outcomes, outcomes) if isinstance(outcomes, str) else outcomes
        expect[OWN][method] = own
        expect[OTHER][method] = other
    return Case(expect=expect, kwargs=kwargs)


def alike(**methods: str) -> dict[str, str]:
    """``alike(GET_POST="...")``: one expectation for several methods."""
    return {method: outcomes for names, outcomes in methods.items() for method in names.split("_")}


# --- Objects of team A ("own") and team B ("other") ---------------------------------------------


@dataclass
class World:
    users: dict[str, Any] = field(default_factory=dict)
    customer: dict[str, Any] = field(default_factory=dict)
    duplicate: dict[str, Any] = field(default_factory=dict)
    import_job: dict[str, Any] = field(default_factory=dict)
    custom_field: dict[str, Any] = field(default_factory=dict)
    event: dict[str, Any] = field(default_factory=dict)
    purchase: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] = field(default_factory=dict)
    data_request: dict[str, Any] = field(default_factory=dict)
    audit_entry: dict[str, Any] = field(default_factory=dict)
    account: dict[str, Any] = field(default_factory=dict)  # a member of the team
    api_token: dict[str, Any] = field(default_factory=dict)  # a token of that member
    notice: Any = None
    links: dict[str, str] = field(default_factory=dict)  # signed tokens of the public pages
    admin_objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def _pk(attribute: str) -> Kwargs:
    return lambda world, variant: {"pk": getattr(world, attribute)[variant].pk}


customer_pk = _pk("customer")
duplicate_pk = _pk("duplicate")
import_pk = _pk("import_job")
custom_field_pk = _pk("custom_field")
event_pk = _pk("event")
purchase_pk = _pk("purchase")
consent_pk = _pk("consent")
data_request_pk = _pk("data_request")
audit_entry_pk = _pk("audit_entry")
account_pk = _pk("account")
api_token_pk = _pk("api_token")


def _link(name: str) -> Kwargs:
    """A public page's signed token: a valid one, or a forged one."""
    return lambda world, variant: {
        "token": world.links[name] if variant == "valid" else "forged.token:signature",
        **({"purpose_code": "newsletter"} if name == "unsubscribe" else {}),
    }


# --- The matrix: the staff UI, the API and the public pages --------------------------------------

# Expectations read: anonymous, marketer, analyst, steward, administrator.
ALL_STAFF = "login ok ok ok ok"
PUBLIC = "ok ok ok ok ok"
VIEW_OWN = ("login ok ok ok ok", "login 404 404 404 ok")
CHANGE_OWN = ("login ok 404 ok ok", "login 404 404 404 ok")
IMPORTERS = "login ok 404 404 ok"  # starting an import needs customers.add_importjob
API_VIEW_OWN = ("401 ok ok ok ok", "401 404 404 404 ok")
API_CHANGE_OWN = ("401 ok 404 ok ok", "401 404 404 404 ok")
API_ADD = "401 ok 403 403 ok"
API_DEFINE = "401 403 403 403 ok"  # administrators only (customers.manage_customfield)
REQUEST_OWN = ("login 404 404 ok ok", "login 404 404 404 ok")
API_REQUEST_OWN = ("401 404 404 ok ok", "401 404 404 404 ok")
API_ACCOUNTS = "401 403 403 403 ok ok"
API_ACCOUNT_OWN = (API_ACCOUNTS, "401 403 403 403 ok 404")
API_SCHEMA_ONLY_GET = {"GET": PUBLIC, **dict.fromkeys(DRF_METHODS[1:], "405 405 405 405 405")}

MATRIX: dict[str, Case] = {
    # Sign-in, second factor, preferences. Login is public; the MFA pages need a password.
    "login": page(**alike(GET_POST=PUBLIC)),
    "mfa-verify": page(**alike(GET_POST=ALL_STAFF)),
    "mfa-setup": page(**alike(GET_POST=ALL_STAFF)),
    # Password and code again before exports and erasures (the empty POST is re-shown).
    "reauth": page(**alike(GET_POST=ALL_STAFF)),
    "logout": page(POST=ALL_STAFF),
    "preferences": page(**alike(GET_POST=ALL_STAFF)),
    "set_language": page(**alike(GET_POST=PUBLIC)),
    # Dashboard and section pages.
    "home": page(**alike(GET_POST=ALL_STAFF)),
    "segments-home": page(**alike(GET_POST=ALL_STAFF)),
    "campaigns-home": page(**alike(GET_POST=ALL_STAFF)),
    # The section's home exists for roles with a card to open (stewards, administrators).
    "privacy-home": page(**alike(GET_POST="login 404 404 ok ok")),
    "audit-list": page(**alike(GET_POST="login 404 404 ok ok")),
    # Needs the audit log's view permission and privacy.export_personal_data.
    "audit-export": page(GET="login 404 404 ok ok"),
    # Retention: privacy.view_retentionpolicy to see the policies and the dry run,
    # privacy.change_retentionpolicy to change one or run the purge (data stewards hold both).
    "retention-list": page(GET="login 404 404 ok ok"),
    "retention-preview": page(GET="login 404 404 ok ok"),
    "retention-run": page(POST="login 404 404 ok ok"),
    "retention-edit": Case(
        expect={ONLY: alike(GET_POST="login 404 404 ok ok")},
        kwargs=lambda world, variant: {
            "pk": world.admin_objects["privacy.retentionpolicy"][ONLY].pk
        },
    ),
    # Privacy notices are not team-owned: privacy.view_privacynotice to read the versions,
    # privacy.add_privacynotice to publish one (stewards and administrators hold both).
    "notice-list": page(**alike(GET_POST="login 404 404 ok ok")),
    "notice-detail": Case(
        expect={ONLY: {"GET": "login 404 404 ok ok"}},
        kwargs=lambda world, variant: {"pk": world.notice.pk},
    ),
    # Customers.
    "customers-home": page(**alike(GET_POST=ALL_STAFF)),
    "customer-export": page(GET="login 404 404 ok ok"),
    # The list's tools: an empty post goes back to the list with a message; a saved view is
    # found among the user's own only; tagging needs customers.change_customer (checked once
    # an action and customers are given: tests/customers/test_list_tools.py).
    "customer-list-columns": page(POST=ALL_STAFF),
    "customer-list-view-save": page(POST=ALL_STAFF),
    "customer-list-view-delete": page(POST=ALL_STAFF),
    "customer-bulk": page(POST=ALL_STAFF),
    "duplicate-list": page(GET=ALL_STAFF),
    # customers.view_dataqualitysnapshot, held by every role: figures of the user's teams.
    "data-quality": page(GET=ALL_STAFF),
    "duplicate-decide": owned(duplicate_pk, POST=CHANGE_OWN),
    "customer-detail": owned(customer_pk, GET=VIEW_OWN),
    "customer-timeline": owned(customer_pk, GET=VIEW_OWN),
    "customer-edit": owned(customer_pk, GET=CHANGE_OWN, POST=CHANGE_OWN),
    "customer-merge": owned(customer_pk, POST=CHANGE_OWN),
    "customer-merge-undo": owned(customer_pk, POST=CHANGE_OWN),
    # Erasure needs customers.delete_customer, which only administrators hold.
    # GET is the confirmation page, where a re-authentication leads back to.
    "customer-erase": owned(customer_pk, **alike(GET_POST="login 404 404 404 ok")),
    # Imports.
    "import-list": page(GET=ALL_STAFF),
    "import-start": page(**alike(GET_POST=IMPORTERS)),
    "import-mapping": page(**alike(GET_POST=IMPORTERS)),
    "import-preview": page(**alike(GET_POST=IMPORTERS)),
    "import-cancel": page(POST=IMPORTERS),
    "import-detail": owned(import_pk, GET=VIEW_OWN),
    "import-progress": owned(import_pk, GET=VIEW_OWN),
    # Retrying or cancelling a job takes what starting one does (customers.add_importjob).
    "import-retry": owned(import_pk, POST=(IMPORTERS, "login 404 404 404 ok")),
    "import-job-cancel": owned(import_pk, POST=(IMPORTERS, "login 404 404 404 ok")),
    # The row report is an export of personal data: privacy.export_personal_data as well.
    "import-report": owned(import_pk, GET=("login 404 404 ok ok", "login 404 404 404 ok")),
    # Data-subject requests: privacy.*_datasubjectrequest, held by stewards and administrators.
    # Empty forms and steps the request's state does not allow come back to the request page.
    "request-list": page(GET="login 404 404 ok ok"),
    "request-create": page(**alike(GET_POST="login 404 404 ok ok")),
    "request-detail": owned(data_request_pk, GET=REQUEST_OWN),
    "request-progress": owned(data_request_pk, GET=REQUEST_OWN),
    "request-verify": owned(data_request_pk, POST=REQUEST_OWN),
    "request-extend": owned(data_request_pk, POST=REQUEST_OWN),
    "request-subjects": owned(data_request_pk, POST=REQUEST_OWN),
    # GET is where a re-authentication leads back to, carrying the kept POST.
    "request-fulfil": owned(data_request_pk, **alike(GET_POST=REQUEST_OWN)),
    "request-answer": owned(data_request_pk, POST=REQUEST_OWN),
    "request-reject": owned(data_request_pk, POST=REQUEST_OWN),
    "request-lift": owned(data_request_pk, POST=REQUEST_OWN),
    "request-download": owned(data_request_pk, GET=REQUEST_OWN),
    # The API (token authentication).
    "api:api-root": page(GET="401 ok ok ok ok"),
    "api:customer-list": page(GET="401 ok ok ok ok", POST=API_ADD),
    "api:customer-upsert": page(POST=API_ADD),
    "api:customer-search": page(POST="401 ok ok ok ok"),
    "api:customer-detail": owned(
        customer_pk,
        GET=API_VIEW_OWN,
        PUT=API_CHANGE_OWN,
        PATCH=API_CHANGE_OWN,
        DELETE="401 404 404 404 ok",  # erasure
    ),
    "api:customer-merge": owned(customer_pk, POST=API_CHANGE_OWN),
    "api:customer-timeline": owned(customer_pk, GET=API_VIEW_OWN),
    "api:import-list": page(GET="401 ok ok ok ok", POST=API_ADD),
    "api:import-detail": owned(import_pk, GET=API_VIEW_OWN),
    # (team A's succeeded job: a 400 naming its status to those the gate lets through)
    "api:import-retry": owned(import_pk, POST=(API_ADD, "401 404 403 403 ok")),
    "api:import-cancel": owned(import_pk, POST=(API_ADD, "401 404 403 403 ok")),
    # Custom field definitions: read by every role of the team, written by administrators.
    "api:custom-field-list": page(GET="401 ok ok ok ok", POST=API_DEFINE),
    "api:custom-field-detail": owned(
        custom_field_pk,
        GET=API_VIEW_OWN,
        PUT=API_DEFINE,
        PATCH=API_DEFINE,
        DELETE=API_DEFINE,
    ),
    "api:import-report": owned(import_pk, GET=("401 403 403 ok ok", "401 404 404 404 ok")),
    "api:event-list": page(GET="401 ok ok ok ok", POST=API_ADD),
    "api:event-detail": owned(event_pk, GET=API_VIEW_OWN),
    "api:purchase-list": page(GET="401 ok ok ok ok", POST=API_ADD),
    "api:purchase-detail": owned(purchase_pk, GET=API_VIEW_OWN),
    # The audit log is scoped by team: stewards read their teams' entries, administrators all.
    # A list answers 200 to everyone signed in; it holds only the entries the user may read.
    "api:audit-log-list": page(GET="401 ok ok ok ok"),
    "api:audit-log-detail": owned(
        audit_entry_pk, GET=("401 404 404 ok ok ok", "401 404 404 404 ok ok")
    ),
    # Consent and privacy notices: the privacy app's permissions, which stewards hold. A list
    # answers 200 to everyone signed in; it holds only the rows the user may see.
    "api:consent-list": page(GET="401 ok ok ok ok", POST="401 403 403 ok ok"),
    "api:consent-double-opt-in": page(POST="401 403 403 ok ok"),
    "api:consent-detail": owned(consent_pk, GET=("401 404 404 ok ok", "401 404 404 404 ok")),
    "api:notice-list": page(GET="401 403 403 ok ok", POST="401 403 403 ok ok"),
    "api:notice-detail": Case(
        expect={ONLY: {"GET": "401 403 403 ok ok"}},
        kwargs=lambda world, variant: {"pk": world.notice.pk},
    ),
    # Data-subject requests: a list answers 200 to everyone signed in (with the rows they may
    # see); the steps are changes of the request (an empty body is a 400 naming a field).
    "api:privacy-request-list": page(GET="401 ok ok ok ok", POST="401 403 403 ok ok"),
    "api:privacy-request-detail": owned(data_request_pk, GET=API_REQUEST_OWN),
    **{
        f"api:privacy-request-{step}": owned(data_request_pk, POST=API_REQUEST_OWN)
        for step in (
            "verify",
            "extend",
            "subjects",
            "fulfil",
            "answer",
            "reject",
            "lift-restriction",
        )
    },
    "api:privacy-request-download": owned(data_request_pk, GET=API_REQUEST_OWN),
    # Accounts and API tokens: superusers and administrators, the latter for the members of
    # their teams (team A's analyst is one; team B's marketer is not). An empty body changes
    # nothing, or is a 400 naming a field.
    "api:user-list": page(**alike(GET_POST=API_ACCOUNTS)),
    "api:user-detail": owned(account_pk, **alike(GET_PUT_PATCH=API_ACCOUNT_OWN)),
    "api:user-teams": owned(account_pk, POST=API_ACCOUNT_OWN),
    "api:user-roles": owned(account_pk, PUT=API_ACCOUNT_OWN),
    # Removing team A's analyst from team A (undone after the request), or B's from B.
    "api:user-team-remove": owned(
        lambda world, variant: {
            "pk": world.account[variant].pk,
            "team_id": world.account[variant].groups.get(team__isnull=False).team.pk,
        },
        DELETE=API_ACCOUNT_OWN,
    ),
    "api:api-token-list": page(**alike(GET_POST=API_ACCOUNTS)),
    "api:api-token-detail": owned(api_token_pk, GET=API_ACCOUNT_OWN),
    "api:api-token-revoke": owned(api_token_pk, POST=API_ACCOUNT_OWN),
    # Pages opened from emails: the signed token is the only authority, for anyone.
    **{
        name: Case(
            expect={
                "valid": alike(GET_POST=PUBLIC),
                "forged": alike(GET_POST="404 404 404 404 404"),
            },
            kwargs=_link(link),
        )
        for name, link in (
            ("consent-preferences", "preferences"),
            ("consent-unsubscribe", "unsubscribe"),
            ("consent-confirm", "confirm"),
        )
    },
    # The schema and its docs page hold no data: public, read-only.
    "api-schema": page(**API_SCHEMA_ONLY_GET),
    "api-docs": page(**API_SCHEMA_ONLY_GET),
    "/favicon.ico": page(**alike(GET_POST=PUBLIC)),
}


# --- The admin ----------------------------------------------------------------------------------

# Every model registered in the admin: whether its rows are team-owned (a user of team A does not
# find team B's rows), and what the admin lets each role do with it at all: v(iew), a(dd),
# c(hange), d(elete); for marketer, analyst, steward, administrator (a superuser) and, when it
# differs from the superuser's, team administrator.
ADMIN_MODELS: dict[str, tuple[bool, str, str, str, str] | tuple[bool, str, str, str, str, str]] = {
    # Groups (roles and teams' members), read-only for superusers: roles are defined in code,
    # memberships changed on the accounts.
    "auth.group": (False, "", "", "", "v", ""),
    # Accounts of the team (team A's analyst, team B's marketer): deactivated, never deleted.
    "auth.user": (True, "", "", "", "vac", "vac"),
    # API tokens of those accounts: made and revoked (a list action), never edited or deleted.
    "privacy.apitoken": (True, "", "", "", "va", "va"),
    "otp_totp.totpdevice": (False, "", "", "", "vacd", ""),
    "otp_static.staticdevice": (False, "", "", "", "vacd", ""),
    # A team administrator reads sign-in lockouts and lifts one by deleting it.
    "axes.accessattempt": (False, "", "", "", "vcd", "vd"),
    "axes.accesslog": (False, "", "", "", "vcd", "v"),
    "axes.accessfailurelog": (False, "", "", "", "vcd", "v"),
    # A schedule runs any task with any arguments: superusers only.
    "django_celery_beat.periodictask": (False, "", "", "", "vacd", ""),
    "django_celery_beat.clockedschedule": (False, "", "", "", "vacd", ""),
    "django_celery_beat.crontabschedule": (False, "", "", "", "vacd", ""),
    "django_celery_beat.solarschedule": (False, "", "", "", "vacd", ""),
    "django_celery_beat.intervalschedule": (False, "", "", "", "vacd", ""),
    # Append-only: read by stewards (their teams' entries) and administrators (every team's),
    # changed by nobody.
    "privacy.auditentry": (True, "", "", "v", "v", "v"),
    # Teams (team A, team B): made by superusers, never deleted (their customers would be
    # orphaned); others see their own.
    "privacy.team": (True, "", "", "v", "vac", "v"),
    "privacy.staffprofile": (False, "", "", "vacd", "vacd"),
    # One retention policy per category, made by a migration: changed, never added or deleted.
    "privacy.retentionpolicy": (False, "", "", "vc", "vc"),
    # Erasure webhooks of the team: deactivated, never deleted, so their delivery log stays.
    "privacy.erasurewebhook": (True, "", "", "vac", "vac"),
    # Their delivery log, written by the erasure and its task: read-only.
    "privacy.erasurenotification": (True, "", "", "v", "v"),
    # Data-subject requests: recorded through the intake service, then read-only (the steps
    # happen in the Privacy area and the API); never deleted.
    "privacy.datasubjectrequest": (True, "", "", "va", "va"),
    # Customers arrive through import, the API or the staff UI; deleting one is an erasure,
    # for whoever holds customers.delete_customer (administrators).
    "customers.customer": (True, "vc", "v", "vc", "vcd"),
    "customers.importtemplate": (True, "vac", "v", "vc", "vacd"),
    # Custom field definitions: read by every role, written by administrators.
    "customers.customfield": (True, "v", "v", "v", "vacd"),
    # Written by services only: read-only for everyone.
    "customers.event": (True, "v", "v", "v", "v"),
    "customers.purchase": (True, "v", "v", "v", "v"),
    "customers.identity": (True, "v", "v", "v", "v"),
    # Imports are started (uploaded) by whoever may add one, then written by the worker.
    "customers.importjob": (True, "va", "v", "v", "va"),
    "customers.mergerecord": (True, "v", "v", "v", "v"),
    "customers.duplicatecandidate": (True, "v", "v", "v", "v"),
}

# Apps on the admin's index, and who finds at least one model in each.
ADMIN_APPS = {
    "auth": "login 404 404 404 ok ok",
    "otp_totp": "login 404 404 404 ok 404",
    "otp_static": "login 404 404 404 ok 404",
    "axes": "login 404 404 404 ok ok",
    "django_celery_beat": "login 404 404 404 ok 404",
    "privacy": "login 404 404 ok ok ok",
    "customers": "login ok ok ok ok ok",
}


def _admin_outcome(view: str, method: str, rights: str, *, visible: bool) -> str:
    """What Django's admin answers, given the rights the ModelAdmin grants at model level."""
    can_view = bool(set(rights) & {"v", "c"})
    if view == "changelist":
        return OK if can_view else "403"
    if view == "add":
        return OK if "a" in rights else "403"
    if view == "redirect":  # <object_id>/ only redirects to <object_id>/change/
        return OK
    if view == "history":  # looks the object up first, then checks the permission
        if not visible:
            return "admin-index"
        return OK if can_view else "403"
    # change and delete check the permission first, then look the object up
    allowed = {"change": "c" in rights if method == "POST" else can_view, "delete": "d" in rights}
    if not allowed[view]:
        return "403"
    return OK if visible else "admin-index"


# Team-owned models whose every row the Administrator role reads, whatever the teams
# (``access_every_team_role``).
EVERY_TEAM_FOR_ADMINISTRATORS = {"privacy.auditentry"}


def admin_object_id(world: World, label: str, variant: str) -> str:
    return quote(world.admin_objects[label][variant].pk)


def _admin_cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for label, (is_owned, *rights) in ADMIN_MODELS.items():
        if len(rights) == len(ROLES) - 2:  # the team administrator's are the superuser's
            rights = [*rights, rights[-1]]
        app_label, model_name = label.split(".")
        prefix = f"admin:{app_label}_{model_name}"
        variants = (OWN, OTHER) if is_owned else (ONLY,)

        def object_id(world: World, variant: str, label: str = label) -> dict[str, Any]:
            return {"object_id": admin_object_id(world, label, variant)}

        def redirect_path(
            world: World, variant: str, label: str = label, app: str = app_label
        ) -> str:
            model = label.split(".")[1]
            return f"/admin/{app}/{model}/{admin_object_id(world, label, variant)}/"

        for view in ("changelist", "add", "history", "delete", "change", "redirect"):
            expect: dict[str, dict[str, str]] = {}
            for variant in (ONLY,) if view in {"changelist", "add"} else variants:
                expect[variant] = {}
                for method in DJANGO_METHODS:
                    outcomes = ["login"]
                    for role, role_rights in zip(ROLES[1:], rights, strict=True):
                        # A team-owned row is found only through a role that may view
                        # its model: the admin's queryset is scoped by that permission.
                        can_view = bool(set(role_rights) & {"v", "c"})
                        reaches_other = role == "administrator" or (
                            role == "team administrator" and label in EVERY_TEAM_FOR_ADMINISTRATORS
                        )
                        visible = (variant != OTHER or reaches_other) and (can_view or not is_owned)
                        outcomes.append(_admin_outcome(view, method, role_rights, visible=visible))
                    expect[variant][method] = " ".join(outcomes)
            if view == "redirect":
                key = f"/admin/{app_label}/{model_name}/<path:object_id>/"
                cases[key] = Case(expect=expect, path=redirect_path)
            elif view in {"changelist", "add"}:
                cases[f"{prefix}_{view}"] = Case(expect=expect)
            else:
                cases[f"{prefix}_{view}"] = Case(expect=expect, kwargs=object_id)
    return cases


def _first_object(label: str) -> Kwargs:
    return lambda world, variant: {"pk": world.admin_objects[label][ONLY].pk}


MATRIX.update(_admin_cases())
MATRIX.update(
    {
        "admin:index": page(**alike(GET_POST=ALL_STAFF)),
        # A signed-in, verified staff member is sent on to the index; signing in (POST) happens
        # on the staff sign-in page only, which audits it.
        "admin:login": page(
            GET="login admin-index admin-index admin-index admin-index",
            POST="login login login login login",
        ),
        "admin:logout": page(GET=UI_NOT_OFFERED, POST=ALL_STAFF),
        "admin:password_change": page(**alike(GET_POST=ALL_STAFF)),
        "admin:password_change_done": page(GET=ALL_STAFF, POST=UI_NOT_OFFERED),
        # No ModelAdmin declares autocomplete fields: every request is refused.
        "admin:autocomplete": page(GET="login 403 403 403 403", POST=UI_NOT_OFFERED),
        "admin:jsi18n": page(GET=ALL_STAFF, POST=UI_NOT_OFFERED),
        # No model has get_absolute_url: "view on site" finds nothing, for any team.
        "admin:view_on_site": Case(
            expect={variant: alike(GET_POST="login 404 404 404 404") for variant in (OWN, OTHER)},
            kwargs=lambda world, variant: {
                "content_type_id": ContentType.objects.get_for_model(world.customer[variant]).pk,
                "object_id": world.customer[variant].pk,
            },
        ),
        "admin:app_list": Case(
            expect={app: alike(GET_POST=outcomes) for app, outcomes in ADMIN_APPS.items()},
            kwargs=lambda world, variant: {"app_label": variant},
        ),
        "/admin/(?P<url>.*)$": Case(
            expect={ONLY: alike(GET_POST="login 404 404 404 404")},
            path=lambda world, variant: "/admin/no-such-page/",
        ),
        # Another team's account is not found (the stock view answers 404).
        "admin:auth_user_password_change": owned(
            lambda world, variant: {"id": world.account[variant].pk},
            **alike(GET_POST=("login 403 403 403 ok ok", "login 403 403 403 ok 404")),
        ),
        # With OTP_ADMIN_HIDE_SENSITIVE_DATA nobody reads another person's TOTP secret.
        "admin:otp_totp_totpdevice_config": Case(
            expect={ONLY: alike(GET_POST="login 403 403 403 403")},
            kwargs=_first_object("otp_totp.totpdevice"),
        ),
        "admin:otp_totp_totpdevice_qrcode": Case(
            expect={ONLY: alike(GET_POST="login 403 403 403 403")},
            kwargs=_first_object("otp_totp.totpdevice"),
        ),
    }
)


# --- Enumerating the routes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    key: str  # the route's name, or its pattern when it has none
    name: str | None
    pattern: str
    is_api: bool  # a Django REST framework view
    offered: frozenset[str]  # methods the view answers
    tested: tuple[str, ...]  # methods the matrix sends
    has_format: bool  # a format-suffix pattern (customers.json)


def _allowed_by_decorator(callback: Callable) -> set[str] | None:
    """The method list of ``require_http_methods`` (or require_GET/POST), if decorated."""
    function: Callable | None = callback
    while function is not None:
        try:
            names = inspect.getclosurevars(function).nonlocals
        except TypeError:
            return None
        if "request_method_list" in names:
            return {method.upper() for method in names["request_method_list"]}
        function = getattr(function, "__wrapped__", None)
    return None


def _route(pattern: URLPattern, prefix: str, namespace: str) -> Route:
    callback = pattern.callback
    name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
    full = prefix + str(pattern.pattern)
    view_class = getattr(callback, "cls", None)
    if view_class is not None and issubclass(view_class, APIView):
        actions = getattr(callback, "actions", None)
        if actions is not None:
            # DRF adds "head" to a viewset's actions at its first GET; HEAD answers as GET does.
            offered = {method.upper() for method in actions if method != "head"}
        else:
            offered = {method for method in DRF_METHODS if hasattr(view_class, method.lower())}
        tested = DRF_METHODS
        is_api = True
    else:
        django_class = getattr(callback, "view_class", None)
        if django_class is not None:
            offered = {
                method
                for method in DJANGO_METHODS
                if hasattr(django_class, method.lower())
                and method.lower() in django_class.http_method_names
            }
        else:
            offered = _allowed_by_decorator(callback) or set(DJANGO_METHODS)
        tested = tuple(sorted(set(DJANGO_METHODS) | offered))
        is_api = False
    return Route(
        key=name or full,
        name=name,
        pattern=full,
        is_api=is_api,
        offered=frozenset(offered),
        tested=tested,
        has_format="format" in pattern.pattern.regex.groupindex,
    )


def all_routes() -> Iterator[Route]:
    def walk(patterns, prefix: str, namespace: str) -> Iterator[Route]:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            else:
                yield _route(entry, prefix, namespace)

    yield from walk(get_resolver().url_patterns, "/", "")


def expectation(route: Route, case: Case, variant: str, method: str) -> str | None:
    declared = case.expect[variant].get(method)
    if declared is not None or method in route.offered:
        return declared
    return API_NOT_OFFERED if route.is_api else UI_NOT_OFFERED


def test_every_route_and_method_is_in_the_matrix():
    # Given every URL pattern of config.urls
    routes = list(all_routes())
    keys = {route.key for route in routes}

    # Then each has a case, each method it offers is declared, and no case is stale
    problems = [
        f"{route.pattern} ({route.key}): add it to MATRIX"
        for route in routes
        if route.key not in MATRIX
    ]
    problems += [f"{key}: in MATRIX but no such route" for key in sorted(set(MATRIX) - keys)]
    for route in routes:
        case = MATRIX.get(route.key)
        if case is None:
            continue
        for variant, by_method in case.expect.items():
            problems += [
                f"{route.key} [{variant}]: {method} is offered but not declared"
                for method in sorted(route.offered - set(by_method))
            ]
            problems += [
                f"{route.key} [{variant}]: {method} is declared but never sent"
                for method in sorted(set(by_method) - set(route.tested))
            ]
            problems += [
                f"{route.key} [{variant}] {method}: {outcomes!r} needs one outcome per role"
                for method, outcomes in by_method.items()
                if len(outcomes.split()) not in {len(ROLES) - 1, len(ROLES)}
                or not set(outcomes.split()) <= OUTCOMES
            ]
    assert problems == [], "\n".join(problems)


# --- Data, clients and the snapshot of what a refused request must not change ---------------------


def _retention_policy():
    """A policy the migration made (put back first if a transactional test flushed them)."""
    from privacy.models import RetentionPolicy
    from privacy.retention.services import retention_policies_ensure

    retention_policies_ensure()
    return RetentionPolicy.objects.get(category="events")


def build_world(team_a, team_b, make_user) -> World:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    world = World()
    world.users = {
        "marketer": make_user(roles.MARKETER, team_a),
        "analyst": make_user(roles.ANALYST, team_a),
        "steward": make_user(roles.DATA_STEWARD, team_a),
        "administrator": make_user(roles.ADMINISTRATOR, team_a, is_superuser=True),
        "team administrator": make_user(roles.ADMINISTRATOR, team_a),
    }
    world.account = {OWN: world.users["analyst"], OTHER: make_user(roles.MARKETER, team_b)}
    world.api_token = {
        variant: api_token_create(actor=None, user=account, name="Matrix")[0]
        for variant, account in world.account.items()
    }
    teams = {OWN: team_a, OTHER: team_b}
    owned_objects: dict[str, dict[str, Any]] = {}
    for variant, team in teams.items():
        customer = CustomerFactory(owner_team=team, given_name="Ann")
        merged = CustomerFactory(owner_team=team, given_name="Ann")
        record = customer_merge(survivor=customer, merged=merged, reason="staff")
        customer.refresh_from_db()  # the merge may have taken the merged profile's values
        world.customer[variant] = customer
        world.duplicate[variant] = DuplicateCandidateFactory(owner_team=team)
        world.event[variant] = EventFactory(customer=customer)
        world.purchase[variant] = PurchaseFactory(customer=customer, amount=Decimal("10.00"))
        world.data_request[variant] = request_create(
            team=team, kind="access", channel="email", actor=None, customer_ids=[customer.pk]
        )
        world.audit_entry[variant] = audit_record(action="matrix.seed", team_id=team.pk)
        world.import_job[variant] = ImportJob.objects.create(
            owner_team=team,
            created_by=world.users["marketer"],
            file="imports/matrix.csv",
            original_filename="matrix.csv",
            status=ImportStatus.SUCCEEDED,
        )
        world.custom_field[variant] = CustomField.objects.create(
            owner_team=team, key="income", label_en="Income", type="decimal"
        )
        erasure_webhook = ErasureWebhook.objects.create(
            owner_team=team,
            name=f"Recipient {variant}",
            url="https://recipient.example.com/erasures",
            secret="matrix-secret",
        )
        owned_objects[variant] = {
            "customers.customer": customer,
            "customers.customfield": world.custom_field[variant],
            "customers.importtemplate": ImportTemplate.objects.create(
                owner_team=team, name=f"Template {variant}", mapping={"Email": "email"}
            ),
            "customers.event": world.event[variant],
            "customers.purchase": world.purchase[variant],
            "customers.identity": customer.identities.first(),
            "customers.importjob": world.import_job[variant],
            "customers.mergerecord": record,
            "customers.duplicatecandidate": world.duplicate[variant],
            "privacy.datasubjectrequest": world.data_request[variant],
            "privacy.auditentry": world.audit_entry[variant],
            "privacy.erasurewebhook": erasure_webhook,
            "privacy.team": team,
            "auth.user": world.account[variant],
            "privacy.apitoken": world.api_token[variant],
            "privacy.erasurenotification": ErasureNotification.objects.create(
                webhook=erasure_webhook, erasure_reference=f"matrix-{variant}"
            ),
        }
    purpose = ConsentPurpose.objects.create(
        code="newsletter", name="Newsletter", channels=["email"], requires_double_opt_in=True
    )
    for variant in (OWN, OTHER):
        world.consent[variant] = consent_record(
            customer=world.customer[variant],
            purpose_code=purpose.code,
            channel="email",
            status="granted",
            source="staff",
        )
    world.notice = notice_publish(
        version="1", language="en", text="We keep your data safe.", actor=None
    )
    world.links = {
        "preferences": preference_token(world.customer[OWN]),
        "unsubscribe": preference_token(world.customer[OWN]),
        "confirm": double_opt_in_token(world.customer[OWN], purpose.code),
    }
    analyst = world.users["analyst"]
    now = timezone.now()
    attempt = {"user_agent": "matrix", "ip_address": "127.0.0.1", "username": "nobody"}
    attempt |= {"http_accept": "*/*", "path_info": "/accounts/login/"}
    interval = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    unowned = {
        "auth.group": Group.objects.get(name=roles.ANALYST),
        "otp_totp.totpdevice": TOTPDevice.objects.create(user=analyst, name="matrix"),
        "otp_static.staticdevice": StaticDevice.objects.create(user=analyst, name="matrix"),
        "axes.accessattempt": AccessAttempt.objects.create(
            **attempt, get_data="", post_data="", failures_since_start=1
        ),
        "axes.accesslog": AccessLog.objects.create(**attempt),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**attempt),
        "django_celery_beat.periodictask": PeriodicTask.objects.create(
            name="matrix", task="matrix.task", interval=interval
        ),
        "django_celery_beat.clockedschedule": ClockedSchedule.objects.create(clocked_time=now),
        "django_celery_beat.crontabschedule": CrontabSchedule.objects.create(),
        "django_celery_beat.solarschedule": SolarSchedule.objects.create(
            event="sunrise", latitude=Decimal("52.5"), longitude=Decimal("13.4")
        ),
        "django_celery_beat.intervalschedule": interval,
        "privacy.staffprofile": StaffProfile.objects.create(user=analyst, time_zone="UTC"),
        "privacy.retentionpolicy": _retention_policy(),
    }
    for label, (is_owned, *_rights) in ADMIN_MODELS.items():
        if is_owned:
            world.admin_objects[label] = {v: owned_objects[v][label] for v in (OWN, OTHER)}
        else:
            world.admin_objects[label] = {ONLY: unowned[label]}
    return world


# Writes a refused request may make: the session is saved on every response (idle timeout), and
# the refusal is audited (``send_and_undo`` checks that nothing else is).
WRITES_ALLOWED_ON_REFUSAL = {"django_session", "privacy_auditentry"}
REFUSAL_AUDIT_ACTIONS = {"access.denied", "auth.token_failed"}
_WRITES_SQL = (
    "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
    "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
)


def rows_written() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table.

    PostgreSQL counts the writes of rolled-back savepoints too, so comparing the counters before
    and after a request shows whether it wrote anything at all, even work it undid itself.
    """
    with connection.cursor() as cursor:
        cursor.execute(_WRITES_SQL)
        return {
            table: count
            for table, count in cursor.fetchall()
            if table not in WRITES_ALLOWED_ON_REFUSAL
        }


def outcome(response) -> str:
    status = response.status_code
    if status in {301, 302, 303, 307, 308}:
        location = response["Location"]
        if location.startswith("/accounts/login/?"):
            return "login"  # the sign-in page, to come back here (signing out lands on it plain)
        if location == reverse("admin:index"):
            return "admin-index"
        return OK
    if status in {401, 403, 404, 405}:
        return str(status)
    if status >= 500:
        return str(status)
    return OK


def send_and_undo(client, route: Route, method: str, url: str) -> str:
    """Send one request with an empty body and return its outcome; then undo what it did.

    The request runs in a savepoint that is rolled back, and the client's cookies are put back,
    so every request starts from the same data and the same signed-in session.
    """
    cookies = copy.deepcopy(client.cookies)
    last_audit_entry = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    with transaction.atomic():
        try:
            if route.is_api:
                body = "{}" if method in {"POST", "PUT", "PATCH"} else ""
                response = client.generic(method, url, body, content_type="application/json")
            elif method == "POST":
                response = client.post(url, {})
            else:
                response = client.generic(method, url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            got = outcome(response)
            if got in REFUSALS:
                audited = AuditEntry.objects.filter(pk__gt=last_audit_entry or 0)
                other = set(audited.values_list("action", flat=True)) - REFUSAL_AUDIT_ACTIONS
                got += f", yet audited {sorted(other)}" if other else ""
        except Exception as error:  # a server error: reported with the other failures
            got = f"exception {type(error).__name__}: {error}"
        transaction.set_rollback(True)
    client.cookies = cookies
    return got


def url_for(route: Route, case: Case, world: World, variant: str) -> str:
    if case.path is not None:
        return case.path(world, variant)
    if route.name is None:
        return route.pattern  # an unnamed pattern without parameters is its own URL
    kwargs = case.kwargs(world, variant) if case.kwargs else {}
    if route.has_format:
        kwargs["format"] = "json"
    return reverse(route.name, kwargs=kwargs)


@pytest.fixture
def fast_requests(settings, caplog):
    """Thousands of requests in a minute: no per-token throttle, and no warning with a
    formatted traceback for each of the expected 4xx answers (server errors are still logged)."""
    caplog.set_level(logging.ERROR, logger="django.request")
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/minute", "api_write": "100000/minute"},
    }


def planned_requests(
    routes: list[Route], world: World
) -> Iterator[tuple[Route, str, str, str, list[str]]]:
    """(route, variant, method, URL, outcomes per role) of every request to send.

    A method the view does not offer is sent for the first variant only: the 405 is decided
    before any object is looked up.
    """
    for route in routes:
        case = MATRIX[route.key]
        for position, variant in enumerate(case.expect):
            url = url_for(route, case, world, variant)
            for method in route.tested:
                if position and method not in route.offered:
                    continue
                outcomes = expectation(route, case, variant, method)
                if outcomes is not None:  # else reported by the test above
                    yield route, variant, method, url, with_team_administrator(outcomes, variant)


def team_administrator_outcome(superuser: str, variant: str) -> str:
    """A team administrator holds every permission a superuser uses on team A's objects (the
    admin pages that differ say so in ``ADMIN_MODELS``), and reaches none of team B's."""
    return "404" if variant == OTHER and superuser == OK else superuser


def with_team_administrator(outcomes: str, variant: str) -> list[str]:
    """The outcomes per role, the team administrator's derived when not given."""
    listed = outcomes.split()
    if len(listed) == len(ROLES) - 1:
        listed.append(team_administrator_outcome(listed[-1], variant))
    return listed


def test_permission_matrix(verified_client, make_user, team_a, team_b, fast_requests):
    # Given objects of team A and team B, and one user per role in team A
    world = build_world(team_a, team_b, make_user)
    routes = [route for route in all_routes() if route.key in MATRIX]
    failures: list[str] = []

    # (The write counters see a rolled-back change, so "wrote nothing" below is not vacuous.)
    written = rows_written()
    with transaction.atomic():
        ImportJob.objects.filter(pk=world.import_job[OWN].pk).update(error="changed")
        transaction.set_rollback(True)
    assert rows_written() != written

    for index, role in enumerate(ROLES):
        # When each role sends every method to every route, for its team's and the other
        # team's object (the staff UI with a TOTP-verified session, the API with a token)
        if role == "anonymous":
            session, api = Client(), APIClient()
        else:
            user = world.users[role]
            session = verified_client(user)
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
            # A token notes its use once a minute at the most; every request here is rolled
            # back, so each would note it again: the token counts as used for the whole run.
            ApiToken.objects.filter(user=user).update(last_used_at=FOREVER)
        written = rows_written()
        for route, variant, method, url, outcomes in planned_requests(routes, world):
            got = send_and_undo(api if route.is_api else session, route, method, url)
            now = rows_written()

            # Then the outcome is the declared one, and a refused request wrote nothing
            label = f"{role:<13} {method:<6} {url} [{route.key}, {variant}]"
            if got != outcomes[index]:
                failures.append(f"{label}: expected {outcomes[index]}, got {got}")
            if got in REFUSALS and now != written:
                tables = sorted(table for table in now if now[table] != written.get(table))
                failures.append(f"{label}: refused, yet wrote to {tables}")
            written = now

    assert failures == [], f"{len(failures)} failures:\n" + "\n".join(failures)
