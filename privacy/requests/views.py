"""Staff UI of data-subject requests (the Privacy area, for data stewards).

The queue, intake, one request with its steps, and one form per next step. Views parse input,
reach the request through the access layer (missing and forbidden both 404) and call one
service; a step the service refuses is shown in its words and changes nothing, with the page's
forms as they were typed. Carrying a request out and downloading its package hand out or
destroy data: they need a recent re-authentication (``privacy.core.reauth``). Each step asks
for one confirmation: the browser's question when the session proved itself recently, otherwise
the re-authentication page, after which the form's POST is carried out as it was sent.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy.core.access import (
    NotFound,
    can_export_personal_data,
    can_view_personal_data,
    get_for_user,
    permission_name,
    scope_queryset,
    teams_for_user,
)
from privacy.core.masking import masks_for
from privacy.core.pages import model_permission, page_permission
from privacy.core.reauth import reauth_is_recent, reauth_redirect, reauth_replaying_post
from privacy.core.services.audit import audit_record
from privacy.models import (
    AnswerChannel,
    AuditEntry,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestOutcome,
    RequestStatus,
    Team,
    VerificationMethod,
)
from privacy.requests.forms import (
    AnswerForm,
    ExtendForm,
    FulfilForm,
    RejectForm,
    RequestIntakeForm,
    RequestQueueFilterForm,
    SubjectsForm,
    VerifyForm,
)
from privacy.requests.selectors import (
    request_counts,
    request_existing_customers,
    request_next_steps,
    request_steps,
    requests_queue,
    requests_with_overdue,
)
from privacy.requests.services.lifecycle import (
    RequestError,
    intake_fields,
    request_answer_record,
    request_create,
    request_extend,
    request_fulfil,
    request_reject,
    request_restriction_lift,
    request_subjects_set,
    request_verify,
)
from privacy.requests.services.package import request_package_open

PAGE_SIZE = 50


# --- Access -------------------------------------------------------------------------------------


def _require_role(user: AbstractBaseUser, action: str) -> None:
    """The queue and intake exist only for roles that handle requests (stewards, administrators)."""
    if not user.has_perm(permission_name(DataSubjectRequest, action)):
        raise NotFound("No data-subject request matches the given query.")


def _request_for(request: HttpRequest, pk: int, *, action: str = "view") -> DataSubjectRequest:
    return get_for_user(request.user, requests_with_overdue(), pk=pk, action=action)


def _teams_for(user: AbstractBaseUser) -> QuerySet[Team]:
    return teams_for_user(user).select_related("group").order_by("group__name")


def _can_change(user: AbstractBaseUser, subject_request: DataSubjectRequest) -> bool:
    return scope_queryset(
        user, DataSubjectRequest.objects.filter(pk=subject_request.pk), action="change"
    ).exists()


# --- Presentation -------------------------------------------------------------------------------


# The staff's free-text notes: they may repeat personal data (what was corrected, how the
# identity was checked), so they are shown like the person's own words.
NOTE_FIELDS = ("verification_note", "extension_reason", "outcome_note", "answer_note")
# What the page calls each detail of the person, and the field it comes from.
SUBJECT_FIELDS = {
    "email": "subject_email",
    "phone": "subject_phone",
    "name": "subject_name",
    "details": "details",
    **{name: name for name in NOTE_FIELDS},
}
PERSONAL_FIELDS = tuple(SUBJECT_FIELDS)


def subject_for(subject_request: DataSubjectRequest, *, can_view_personal_data: bool) -> dict:
    """The person's details and the staff's notes as this user may see them: masked as the
    record of processing says unless the user may view personal data."""
    masks = {} if can_view_personal_data else masks_for(DataSubjectRequest)
    shown: dict[str, object] = {}
    for key, name in SUBJECT_FIELDS.items():
        value = getattr(subject_request, name) or ""
        shown[key] = masks[name](value) if name in masks else value
    return {**shown, "is_masked": not can_view_personal_data}


def fulfil_label(kind: str, count: int) -> str:
    """The fulfil button says what it will do."""
    if count == 0:
        return _("Answer “no data held”")
    labels = {
        RequestKind.ACCESS: ngettext(
            "Build the package of everything about %(count)s customer",
            "Build the package of everything about %(count)s customers",
            count,
        ),
        RequestKind.ERASURE: ngettext(
            "Erase %(count)s customer and everything about them",
            "Erase %(count)s customers and everything about them",
            count,
        ),
        RequestKind.RESTRICTION: ngettext(
            "Restrict processing of %(count)s customer",
            "Restrict processing of %(count)s customers",
            count,
        ),
        RequestKind.OBJECTION: ngettext(
            "Stop marketing to %(count)s customer and withdraw their consents",
            "Stop marketing to %(count)s customers and withdraw their consents",
            count,
        ),
        RequestKind.RECTIFICATION: ngettext(
            "Record the correction of %(count)s customer as done",
            "Record the correction of %(count)s customers as done",
            count,
        ),
    }
    return labels[kind] % {"count": count}


def fulfil_question(kind: str, count: int) -> str:
    """The confirmation asked before carrying the request out."""
    if count == 0:
        return _("Record that no data is held about the person? You then tell them so.")
    if kind == RequestKind.ERASURE:
        return _(
            "Erase these customers for good? Their profiles, events, purchases and consents are "
            "deleted and their email and phone are blocked from future imports. This cannot be "
            "undone."
        )
    if kind == RequestKind.ACCESS:
        return _("Build the package of everything held about these customers?")
    return _("Carry the request out now? You then tell the person what was done.")


def _label(choices, value) -> str:
    return str(dict(choices).get(value, value or ""))


def step_text(entry: AuditEntry) -> str:
    """One step of a request, in plain words."""
    data = entry.metadata or {}
    if entry.action == "request.create":
        found = data.get("customers_found", 0)
        return ngettext(
            "Received by %(channel)s and recorded; %(count)s customer found",
            "Received by %(channel)s and recorded; %(count)s customers found",
            found,
        ) % {"channel": _label(RequestChannel.choices, data.get("channel")), "count": found}
    if entry.action == "request.verify":
        return _("Identity verified: %(method)s") % {
            "method": _label(VerificationMethod.choices, data.get("method"))
        }
    if entry.action == "request.extend":
        months = data.get("months", 0)
        return ngettext(
            "Deadline extended by %(months)s month; now due %(due)s",
            "Deadline extended by %(months)s months; now due %(due)s",
            months,
        ) % {"months": months, "due": data.get("due_on", "")}
    if entry.action == "request.subjects":
        count = len(data.get("customer_ids") or [])
        return ngettext(
            "Customers confirmed: %(count)s customer",
            "Customers confirmed: %(count)s customers",
            count,
        ) % {"count": count}
    if entry.action == "request.package_start":
        return _("Started building the package of everything held")
    if entry.action == "request.package_ready":
        return _("Package ready for download (%(size)s)") % {
            "size": filesizeformat(data.get("bytes") or 0)
        }
    if entry.action == "request.package_download":
        return _("Package downloaded")
    if entry.action == "request.package_download_refused":
        return _("Download refused: the link had expired")
    if entry.action == "request.fulfil":
        return _("Carried out: %(outcome)s; the answer is still to be sent") % {
            "outcome": _label(RequestOutcome.choices, data.get("outcome"))
        }
    if entry.action == "request.answer":
        return _("Answer sent by %(channel)s") % {
            "channel": _label(AnswerChannel.choices, data.get("channel"))
        }
    if entry.action == "request.reject":
        return _("Refused")
    if entry.action == "request.restriction_lift":
        lifted = data.get("lifted", 0)
        return ngettext(
            "Restriction lifted from %(count)s customer",
            "Restriction lifted from %(count)s customers",
            lifted,
        ) % {"count": lifted}
    if entry.action == "subject.erase":
        erased = len(data.get("erased_customer_ids") or [])
        return ngettext(
            "%(count)s customer erased with everything about them",
            "%(count)s customers erased with everything about them",
            erased,
        ) % {"count": erased}
    return entry.action


def _queue_row(subject_request: DataSubjectRequest, today) -> tuple:
    """A request with its days left and days late (0 unless late). The clock stops when the
    answer is sent: an answered request counts to the day of its answer; a refused one has
    no days left (None)."""
    if subject_request.answered_at is not None:
        today = timezone.localdate(subject_request.answered_at, timezone.get_default_timezone())
    elif not subject_request.is_open:
        return subject_request, None, 0
    days_left = (subject_request.due_on - today).days
    return subject_request, days_left, max(-days_left, 0)


# --- The queue and intake -----------------------------------------------------------------------


@require_GET
@page_permission(
    model_permission(DataSubjectRequest, "view"),
    message="No data-subject request matches the given query.",
)
def request_list(request: HttpRequest) -> HttpResponse:
    """Open requests, soonest due first; overdue ones stand out."""
    form = RequestQueueFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    requests = requests_queue(
        request.user,
        status=filters.get("status") or "open",
        kind=filters.get("kind") or "",
        is_overdue_only=bool(filters.get("overdue")),
    )
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "privacy/requests/list.html",
        {
            "form": form,
            "page": page,
            "rows": [_queue_row(item, today) for item in page.object_list],
            "counts": request_counts(request.user),
            "query": query.urlencode(),
            "is_filtered": bool(query),
            "can_add": request.user.has_perm(permission_name(DataSubjectRequest, "add")),
        },
    )


@require_http_methods(["GET", "POST"])
def request_create_view(request: HttpRequest) -> HttpResponse:
    """Record a request as it arrived; the customers it concerns are looked up."""
    _require_role(request.user, "add")
    form = RequestIntakeForm(
        request.POST if request.method == "POST" else None, teams=_teams_for(request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subject_request = request_create(
                team=data["team"],
                actor=request.user,
                **intake_fields(data),
            )
        except RequestError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            found = len(subject_request.customer_ids)
            if found:
                text = ngettext(
                    "Request #%(number)s is recorded. %(count)s customer was found.",
                    "Request #%(number)s is recorded. %(count)s customers were found.",
                    found,
                ) % {"number": subject_request.pk, "count": found}
            else:
                text = _(
                    "Request #%(number)s is recorded. Nobody was found with these details, so "
                    "the answer will be “no data held”."
                ) % {"number": subject_request.pk}
            messages.success(request, text)
            return redirect("request-detail", pk=subject_request.pk)
    return render(request, "privacy/requests/create.html", {"form": form})


# --- One request --------------------------------------------------------------------------------


def _detail_context(request: HttpRequest, subject_request: DataSubjectRequest) -> dict:
    existing = request_existing_customers(subject_request)
    next_steps = request_next_steps(subject_request, existing_customer_ids=existing)
    return {
        "data_request": subject_request,
        "existing_customer_ids": existing,
        "customers": [(pk, pk in existing) for pk in subject_request.customer_ids],
        "next_steps": next_steps,
        "can_change": _can_change(request.user, subject_request),
        "fulfil_label": fulfil_label(subject_request.kind, len(existing)),
        "fulfil_question": fulfil_question(subject_request.kind, len(existing)),
        # One confirmation per step: a stale session's re-authentication is the confirmation,
        # so the browser asks only when no re-authentication will be asked for.
        "fulfil_asks_first": reauth_is_recent(request),
        "is_building": subject_request.status == RequestStatus.PROCESSING,
    }


@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """What was asked, the deadline, the customers, the steps so far and the next ones."""
    return _render_detail(request, _request_for(request, pk))


def _render_detail(
    request: HttpRequest,
    subject_request: DataSubjectRequest,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The request's page; ``bound`` forms (by context name) replace the empty ones, so a step
    refused comes back with what was typed in it."""
    unmasked = can_view_personal_data(request.user)
    subject = subject_for(subject_request, can_view_personal_data=unmasked)
    if unmasked and any(subject[name] for name in PERSONAL_FIELDS):
        audit_record(
            action="request.view_personal_data", actor=request.user, target=subject_request
        )
    context = _detail_context(request, subject_request)
    next_steps = context["next_steps"]
    return render(
        request,
        "privacy/requests/detail.html",
        {
            **context,
            "subject": subject,
            "steps": [(entry, step_text(entry)) for entry in request_steps(subject_request)],
            "verify_form": VerifyForm(),
            "extend_form": ExtendForm(months_left=next_steps.months_left),
            "subjects_form": SubjectsForm(
                initial={"customer_ids": context["existing_customer_ids"]}
            ),
            "fulfil_form": FulfilForm(),
            "answer_form": AnswerForm(kind=subject_request.kind),
            "reject_form": RejectForm(),
            **(bound or {}),
        },
        status=status,
    )


@require_GET
def request_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The package's progress alone, polled by htmx while it is being built."""
    subject_request = _request_for(request, pk)
    context = _detail_context(request, subject_request)
    response = render(request, "privacy/requests/_progress.html", context)
    if request.headers.get("HX-Request") and not context["is_building"]:
        # Built: reload the whole page once, so its status and steps show the answer too.
        response["HX-Refresh"] = "true"
    return response


def _step(
    request: HttpRequest,
    subject_request: DataSubjectRequest,
    form: forms.Form,
    run: Callable[[dict], DataSubjectRequest],
    done: Callable[[DataSubjectRequest], str],
    *,
    form_name: str,
) -> HttpResponse:
    """Run one step from a valid form. When the form or the service refuses it, say why and
    show the page again with the form as it was typed (``form_name`` in the page's context)."""
    if form.is_valid():
        try:
            result = run(form.cleaned_data)
        except RequestError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, done(result))
            return redirect("request-detail", pk=subject_request.pk)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    fresh = _request_for(request, subject_request.pk)
    return _render_detail(request, fresh, bound={form_name: form}, status=400)


@require_POST
def request_verify_view(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _request_for(request, pk, action="change")
    return _step(
        request,
        subject_request,
        VerifyForm(request.POST),
        lambda data: request_verify(
            subject_request=subject_request,
            method=data["verification_method"],
            note=data["verification_note"],
            actor=request.user,
        ),
        lambda result: _("The person's identity is recorded as verified."),
        form_name="verify_form",
    )


@require_POST
def request_extend_view(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _request_for(request, pk, action="change")
    return _step(
        request,
        subject_request,
        ExtendForm(request.POST),
        lambda data: request_extend(
            subject_request=subject_request,
            months=data["months"],
            reason=data["extension_reason"],
            actor=request.user,
        ),
        lambda result: (
            _("The deadline is now %(due)s. Tell the person why.")
            % {"due": result.due_on.isoformat()}
        ),
        form_name="extend_form",
    )


@require_POST
def request_subjects_view(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _request_for(request, pk, action="change")
    return _step(
        request,
        subject_request,
        SubjectsForm(request.POST),
        lambda data: request_subjects_set(
            subject_request=subject_request, customer_ids=data["customer_ids"], actor=request.user
        ),
        lambda result: (
            ngettext(
                "The request concerns %(count)s customer.",
                "The request concerns %(count)s customers.",
                len(result.customer_ids),
            )
            % {"count": len(result.customer_ids)}
        ),
        form_name="subjects_form",
    )


def _fulfilled_text(result: DataSubjectRequest) -> str:
    if result.status == RequestStatus.PROCESSING:
        return _("The package is being built; this page shows its progress.")
    if result.outcome == RequestOutcome.NO_DATA_HELD:
        return _(
            "Nothing is held about the person. Tell them so, then record how the answer was sent."
        )
    if result.kind == RequestKind.ERASURE:
        return _(
            "The customers were erased with everything about them. Tell the person, then record "
            "how the answer was sent."
        )
    return _("Done. Tell the person, then record how the answer was sent.")


def _fulfil_summary(request: HttpRequest, pk: int) -> str:
    """What the fulfil step will do, shown on the re-authentication page that confirms it."""
    subject_request = _request_for(request, pk, action="change")
    existing = request_existing_customers(subject_request)
    return fulfil_question(subject_request.kind, len(existing))


@require_http_methods(["GET", "POST"])
@reauth_replaying_post(summary=_fulfil_summary)
def request_fulfil_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Carry the request out as its kind says (POST). After a re-authentication the POST comes
    back with what was typed and is carried out: the re-authentication was its confirmation.
    A plain GET leads to the request's page, where the step is."""
    subject_request = _request_for(request, pk, action="change")
    if request.method != "POST":
        return redirect("request-detail", pk=subject_request.pk)
    return _step(
        request,
        subject_request,
        FulfilForm(request.POST),
        lambda data: request_fulfil(
            subject_request=subject_request, note=data["outcome_note"], actor=request.user
        ),
        _fulfilled_text,
        form_name="fulfil_form",
    )


@require_POST
def request_answer_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record how and when the answer was sent: this closes the request and stops its clock."""
    subject_request = _request_for(request, pk, action="change")
    return _step(
        request,
        subject_request,
        AnswerForm(request.POST, kind=subject_request.kind),
        lambda data: request_answer_record(
            subject_request=subject_request,
            channel=data["answer_channel"],
            sent_at=data["answered_at"],
            note=data["answer_note"],
            actor=request.user,
        ),
        lambda result: _("The answer is recorded as sent. The request is closed."),
        form_name="answer_form",
    )


@require_POST
def request_reject_view(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _request_for(request, pk, action="change")
    return _step(
        request,
        subject_request,
        RejectForm(request.POST),
        lambda data: request_reject(
            subject_request=subject_request, reason=data["outcome_note"], actor=request.user
        ),
        lambda result: _("The request is refused and closed. Tell the person why."),
        form_name="reject_form",
    )


@require_POST
def request_lift_view(request: HttpRequest, pk: int) -> HttpResponse:
    subject_request = _request_for(request, pk, action="change")
    return _step(
        request,
        subject_request,
        forms.Form(request.POST),
        lambda data: request_restriction_lift(subject_request=subject_request, actor=request.user),
        lambda result: _("The restriction is lifted: the customers are processed again."),
        form_name="lift_form",
    )


@require_GET
def request_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The access package as a ZIP, while its link has not expired (audited).

    An export of personal data: it needs ``privacy.export_personal_data`` as well as the
    request, and a recent re-authentication (asked for after the permission checks).
    """
    if not can_export_personal_data(request.user):
        raise NotFound
    if not reauth_is_recent(request):
        return reauth_redirect(request)
    subject_request = _request_for(request, pk, action="change")
    try:
        handle = request_package_open(subject_request=subject_request, actor=request.user)
    except RequestError as error:
        messages.error(request, error.message)
        return redirect("request-detail", pk=subject_request.pk)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"request-{subject_request.pk}-package.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response
