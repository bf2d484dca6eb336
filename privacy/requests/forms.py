"""Forms of the data-subject request pages. They parse input; the services apply the rules."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacy.models import (
    AnswerChannel,
    RequestChannel,
    RequestKind,
    RequestStatus,
    Team,
    VerificationMethod,
)
from privacy.requests.services.lifecycle import MAX_EXTENSION_MONTHS

MAX_CUSTOMER_NUMBERS = 100
# Ids are PostgreSQL bigints; a larger number could not name any customer.
MAX_ID = 2**63 - 1
_SEPARATORS = re.compile(r"[\s,;]+")


class CustomerNumbersField(forms.CharField):
    """Customer numbers separated by commas, spaces or new lines; ``#`` before each is allowed."""

    default_error_messages = {
        "invalid": _("Write customer numbers as whole numbers separated by commas."),
        "too_many": _("At most %(limit)s customer numbers."),
    }

    def to_python(self, value) -> list[int]:
        text = super().to_python(value) or ""
        numbers = []
        for part in _SEPARATORS.split(text.strip()):
            if not part:
                continue
            digits = part.removeprefix("#")
            # Length first: int() of thousands of digits is refused by Python itself.
            if (
                len(digits) > len(str(MAX_ID))
                or not digits.isascii()
                or not digits.isdigit()
                or not 0 < int(digits) <= MAX_ID
            ):
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            numbers.append(int(digits))
        if len(numbers) > MAX_CUSTOMER_NUMBERS:
            raise ValidationError(
                self.error_messages["too_many"],
                code="too_many",
                params={"limit": MAX_CUSTOMER_NUMBERS},
            )
        return sorted(set(numbers))

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(number) for number in value)
        return value


def moment_field(*, label, help_text, required_message) -> forms.DateTimeField:
    """A date and time to the minute, typed in the browser's date-time picker."""
    return forms.DateTimeField(
        label=label,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text=help_text,
        error_messages={"required": required_message},
    )


def team_choice_field(teams: QuerySet[Team]) -> tuple[forms.ModelChoiceField, Team | None]:
    """A team picker over ``teams``, hidden when there is only one; returns it and that one."""
    field = forms.ModelChoiceField(
        label=_("Team"),
        queryset=teams,
        empty_label=None,
        required=False,
        help_text=_("The team whose customers the request concerns."),
        error_messages={"invalid_choice": _("Choose one of your teams.")},
    )
    candidates = list(teams[:2])
    only_team = candidates[0] if len(candidates) == 1 else None
    if only_team is not None:
        field.widget = forms.HiddenInput()
        field.initial = only_team.pk
    return field, only_team


class RequestIntakeForm(forms.Form):
    """Record a request as it arrived. Field names are those the service names in its errors."""

    team = forms.ModelChoiceField(queryset=Team.objects.none())
    kind = forms.ChoiceField(
        label=_("What the person asks for"),
        choices=[("", _("Choose…")), *RequestKind.choices],
        error_messages={"required": _("Choose what the person asks for.")},
    )
    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[("", _("Choose…")), *RequestChannel.choices],
        error_messages={"required": _("Choose how the request was received.")},
    )
    received_at = moment_field(
        label=_("Received on"),
        help_text=_("The deadline is one calendar month from this day."),
        required_message=_("Give the date and time the request was received."),
    )
    subject_email = forms.CharField(
        label=_("Email"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    subject_phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=64,
        help_text=_("With its country code, e.g. +44 20 7946 0000."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
    subject_name = forms.CharField(label=_("Name"), required=False, max_length=200)
    details = forms.CharField(
        label=_("What the person wrote"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The fields to correct, the processing objected to… in the person's words."),
    )
    customer_ids = CustomerNumbersField(
        label=_("Customer numbers (optional)"),
        required=False,
        help_text=_("Numbers of customers you already know the request is about."),
    )

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"], self.only_team = team_choice_field(teams)
        self.has_teams = self.only_team is not None or teams.exists()
        if not self.is_bound:
            self.initial.setdefault("received_at", timezone.localtime().replace(second=0))

    def clean_team(self) -> Team:
        team = self.cleaned_data.get("team") or self.only_team
        if team is None:
            raise ValidationError(
                _("You are not in any team; ask an administrator to add you to one.")
                if not self.has_teams
                else _("Choose the team whose customers the request concerns."),
                code="no_team",
            )
        return team


class RequestQueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Open")), ("all", _("All")), *RequestStatus.choices],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any")), *RequestKind.choices]
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class VerifyForm(forms.Form):
    verification_method = forms.ChoiceField(
        label=_("How the identity was checked"),
        choices=[("", _("Choose…")), *VerificationMethod.choices],
        error_messages={"required": _("Choose how the identity was verified.")},
    )
    verification_note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Say what was checked; never copy the document itself."),
    )


class ExtendForm(forms.Form):
    months = forms.TypedChoiceField(
        label=_("Extend by"),
        coerce=int,
        choices=[
            (1, _("1 month")),
            (2, _("2 months")),
        ],
    )
    extension_reason = forms.CharField(
        label=_("Reason (told to the person)"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for the extension.")},
    )

    def __init__(self, *args, months_left: int = MAX_EXTENSION_MONTHS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["months"]
        field.choices = [choice for choice in field.choices if choice[0] <= months_left]


class SubjectsForm(forms.Form):
    customer_ids = CustomerNumbersField(
        label=_("Customer numbers"),
        required=False,
        help_text=_("Separate them with commas. Leave empty when the person is not a customer."),
    )


class FulfilForm(forms.Form):
    outcome_note = forms.CharField(
        label=_("Note on the answer"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AnswerForm(forms.Form):
    """How and when the answer reached the person; an erasure's answer takes no note."""

    answer_channel = forms.ChoiceField(
        label=_("Sent by"),
        choices=[("", _("Choose…")), *AnswerChannel.choices],
        error_messages={"required": _("Choose how the answer was sent.")},
    )
    answered_at = moment_field(
        label=_("Sent on"),
        help_text=_("The deadline's clock stops on this day."),
        required_message=_("Give the date and time the answer was sent."),
    )
    answer_note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was sent, a reference of the letter or message…"),
    )

    def __init__(self, *args, kind: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("answered_at", timezone.localtime().replace(second=0))
        if kind == RequestKind.ERASURE:
            # An erasure keeps no notes about the person.
            del self.fields["answer_note"]

    def clean(self):
        cleaned = super().clean()
        cleaned.setdefault("answer_note", "")
        return cleaned


class RejectForm(forms.Form):
    outcome_note = forms.CharField(
        label=_("Why the request is refused"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the request is refused.")},
    )
