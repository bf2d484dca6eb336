"""Data-subject requests: what a person asked for, who checked it was them, and the deadline.

One model serves every law that gives people rights over their data (GDPR, UK GDPR, PIPL):
request kinds are named by what they do (``access``, ``erasure``, ``rectification``,
``restriction``, ``objection``), not by article numbers.

The person's contact details are encrypted and cleared when an erasure request completes, so a
finished erasure leaves no personal value behind; the steps of a request are its audit entries
(``request.*`` actions with this request as their object).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from privacy.core.fields import EncryptedTextField
from privacy.models.core import Team


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access and copy of data")
    ERASURE = "erasure", _("Erasure")
    RECTIFICATION = "rectification", _("Rectification")
    RESTRICTION = "restriction", _("Restriction of processing")
    OBJECTION = "objection", _("Objection to processing")


class RequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Identity verified")
    PROCESSING = "processing", _("Processing")
    # Carried out, but nothing has reached the person yet: staff send the answer and record it.
    PACKAGE_READY = "package_ready", _("Package ready, answer not sent")
    CARRIED_OUT = "carried_out", _("Carried out, answer not sent")
    COMPLETED = "completed", _("Answered")
    REJECTED = "rejected", _("Rejected")


# Open until the answer is recorded as sent: the deadline runs on while the answer waits.
OPEN_STATUSES = (
    RequestStatus.RECEIVED,
    RequestStatus.VERIFIED,
    RequestStatus.PROCESSING,
    RequestStatus.PACKAGE_READY,
    RequestStatus.CARRIED_OUT,
)
# The request's action is done and its answer waits to be sent.
AWAITING_ANSWER_STATUSES = (RequestStatus.PACKAGE_READY, RequestStatus.CARRIED_OUT)


class RequestChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB_FORM = "web_form", _("Web form")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")
    IN_PERSON = "in_person", _("In person")
    API = "api", _("API")


class AnswerChannel(models.TextChoices):
    """How the answer reached the person."""

    EMAIL = "email", _("Email")
    POST = "post", _("Post")
    PORTAL = "portal", _("Customer portal or download link")
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")


class VerificationMethod(models.TextChoices):
    EMAIL_CONFIRMED = "email_confirmed", _("Confirmed from the email address on file")
    ACCOUNT_SIGN_IN = "account_sign_in", _("Signed in to their customer account")
    IDENTITY_DOCUMENT = "identity_document", _("Identity document checked (not kept)")
    KNOWLEDGE = "knowledge", _("Answered questions only the person can know")
    OTHER = "other", _("Other (see note)")


class RequestOutcome(models.TextChoices):
    FULFILLED = "fulfilled", _("Fulfilled")
    NO_DATA_HELD = "no_data_held", _("No data held about the person")
    REFUSED = "refused", _("Refused")


class DataSubjectRequest(models.Model):
    """A request by a person about their own data, tracked from receipt to answer."""

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.RECEIVED
    )
    channel = models.CharField(_("received by"), max_length=16, choices=RequestChannel.choices)
    received_at = models.DateTimeField(_("received"))
    # One calendar month from receipt; an extension (at most two more months) moves it.
    due_on = models.DateField(_("due"))
    extension_months = models.PositiveSmallIntegerField(_("extension (months)"), default=0)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    extended_at = models.DateTimeField(null=True, blank=True)

    # Who the request is about, as the person gave it (encrypted; cleared after an erasure).
    subject_email = EncryptedTextField(_("email"), null=True, blank=True)
    subject_phone = EncryptedTextField(_("phone"), null=True, blank=True)
    subject_name = EncryptedTextField(_("name"), null=True, blank=True)
    # What the person asked for in their words (the fields to correct, the processing objected to).
    details = EncryptedTextField(_("details"), null=True, blank=True)
    # The customers of the team the request concerns, found at intake and confirmed by staff.
    customer_ids = models.JSONField(_("customers"), default=list, blank=True)

    verification_method = models.CharField(
        _("verification"), max_length=24, choices=VerificationMethod.choices, blank=True
    )
    verification_note = models.TextField(_("verification note"), blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    outcome = models.CharField(
        _("outcome"), max_length=16, choices=RequestOutcome.choices, blank=True
    )
    outcome_note = models.TextField(_("answer note"), blank=True)
    # When the request's action was carried out (the package built, the customers erased...).
    completed_at = models.DateTimeField(null=True, blank=True)
    # When, how and by whom the answer was sent to the person: this stops the deadline's clock.
    answered_at = models.DateTimeField(_("answer sent"), null=True, blank=True)
    answer_channel = models.CharField(
        _("answer sent by"), max_length=16, choices=AnswerChannel.choices, blank=True
    )
    answer_note = models.TextField(_("note on the answer sent"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # A completed restriction stays in force until lifted (the person agreed, or its reason ended).
    restriction_lifted_at = models.DateTimeField(null=True, blank=True)

    # The access package (a ZIP in private storage) and when its download link stops working.
    package = models.FileField(upload_to="privacy/packages/", blank=True)
    package_size = models.PositiveBigIntegerField(null=True, blank=True)
    package_expires_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)

    last_overdue_alert_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["owner_team", "status", "due_on"], name="dsr_team_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(extension_months__lte=2), name="dsr_extension_at_most_two"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES
