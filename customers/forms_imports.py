"""Forms of the import wizard: the upload (step 1) and the column mapping (step 2)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, DateOrder, ImportKind, ImportTemplate
from customers.normalisation import NormalisationError, normalise_country
from customers.services.csv_files import HEADER_SYNONYMS, FileProblem, FileShape, inspect_file
from customers.services.custom_fields import (
    ATTRIBUTE_PREFIX,
    custom_field_label,
    custom_fields_by_key,
)
from privacy.models import Team

# Kinds the importer reads today; the others are listed, disabled, until their import exists.
SUPPORTED_KINDS = frozenset({ImportKind.CUSTOMERS})
IDENTIFIER_FIELDS = ("email", "phone", "external_id")

# Labels of the canonical fields (the keys of HEADER_SYNONYMS) and of the normalised values the
# preview shows. A field missing here is shown by its name, so a new synonym key never breaks.
FIELD_LABELS = {
    "email": _("Email"),
    "phone": _("Phone"),
    "first_name": _("Given name"),
    "last_name": _("Family name"),
    "full_name": _("Full name"),
    "given_name": _("Given name"),
    "family_name": _("Family name"),
    "country": _("Country"),
    "city": _("City"),
    "postal_address": _("Postal address"),
    "postal_code": _("Postal code"),
    "birth_date": _("Birth date"),
    "gender": _("Gender"),
    "language": _("Language"),
    "company": _("Company"),
    "industry": _("Industry"),
    "job_title": _("Job title"),
    "signup_date": _("Signup date"),
    "source": _("Source channel"),
    "source_channel": _("Source channel"),
    "external_id": _("External id"),
    "external_ids": _("External ids"),
    "wechat_id": _("WeChat id"),
    "tags": _("Tags"),
    "marketing_opt_in": _("Marketing opt-in"),
    "notes": _("Notes"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name.replace("_", " ")))


def mapping_choices() -> list[tuple[str, str]]:
    return [("", _("(ignore)"))] + [(name, field_label(name)) for name in HEADER_SYNONYMS]


def custom_mapping_choices(team_id: int | None) -> list[tuple[str, str]]:
    """The team's custom fields as mapping targets (``attributes.<key>``), by label."""
    if team_id is None:
        return []
    return [
        (f"{ATTRIBUTE_PREFIX}{key}", f"{custom_field_label(definition)} ({key})")
        for key, definition in custom_fields_by_key(team_id).items()
    ]


class KindSelect(forms.Select):
    """A select whose options for kinds the importer cannot read yet are shown disabled."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value and value not in SUPPORTED_KINDS:
            option["attrs"]["disabled"] = True
        return option


def _kind_choices() -> list[tuple[str, str]]:
    coming = _("coming with purchase import")
    return [
        (value, label if value in SUPPORTED_KINDS else format_lazy("{} ({})", label, coming))
        for value, label in ImportKind.choices
    ]


class ImportUploadForm(forms.Form):
    """Step 1: the file and how to read it. The file is checked here, before it is kept."""

    file = forms.FileField(
        label=_("CSV file"),
        allow_empty_file=True,  # inspect_file explains an empty file in its own words
        help_text=_(
            "A CSV file with a header line, in UTF-8, UTF-16 or GB18030/GBK, separated by "
            "commas, semicolons or tabs. Up to 512 MB."
        ),
        error_messages={"required": _("Choose a CSV file to upload.")},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        empty_label=None,
        help_text=_("The team that will own the imported customers."),
        error_messages={"invalid_choice": _("Choose one of your teams.")},
    )
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=_kind_choices,
        initial=ImportKind.CUSTOMERS,
        widget=KindSelect,
    )
    default_country = forms.CharField(
        label=_("Default country"),
        required=False,
        max_length=60,
        help_text=_(
            "Optional. How national phone numbers and numeric dates are read when a row names "
            "no country, e.g. CN, US or France. It is not stored as the customer's country."
        ),
    )
    source_channel = forms.ChoiceField(
        label=_("Source channel"),
        required=False,
        choices=[("", _("Import (unless the file has a source column)")), *Channel.choices],
        help_text=_("Where these customers came from, for rows that do not say it themselves."),
    )
    is_dry_run = forms.BooleanField(
        label=_("Dry run: check every row and report, without saving any customer"),
        required=False,
    )
    keep_file = forms.BooleanField(
        label=_("Keep the file after the import"),
        required=False,
        help_text=_(
            "By default the uploaded file is deleted as soon as the import has reported on "
            "every row. Kept files are stored encrypted and deleted after the retention period."
        ),
    )

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shape: FileShape | None = None
        team_field = self.fields["team"]
        team_field.queryset = teams
        team_field.required = False  # clean_team explains a missing team, or picks the only one
        candidates = list(teams[:2])
        self.only_team = candidates[0] if len(candidates) == 1 else None
        if self.only_team is not None:
            team_field.widget = forms.HiddenInput()
            team_field.initial = self.only_team.pk
        self.has_teams = bool(candidates)

    def clean_team(self) -> Team:
        team = self.cleaned_data.get("team") or self.only_team
        if team is None:
            raise ValidationError(
                _(
                    "You are not in any team, so there is no team to own the customers. Ask an "
                    "administrator to add you to one."
                )
                if not self.has_teams
                else _("Choose the team that will own the customers."),
                code="no_team",
            )
        return team

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.shape = inspect_file(upload.file)
        except FileProblem as problem:
            raise ValidationError(problem.translated(), code="file_problem") from problem
        finally:
            upload.file.seek(0)
        return upload

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        if kind not in SUPPORTED_KINDS:
            raise ValidationError(
                _(
                    "Only customer files can be imported for now; purchases and events are "
                    "coming with purchase import."
                ),
                code="unsupported_kind",
            )
        return kind

    def clean_default_country(self) -> str:
        value = self.cleaned_data["default_country"].strip()
        if not value:
            return ""
        try:
            return normalise_country(value) or ""
        except NormalisationError:
            raise ValidationError(
                _("“%(value)s” is not a country we know. Use a two-letter code such as CN or US."),
                code="unknown_country",
                params={"value": value},
            ) from None


class ImportMappingForm(forms.Form):
    """Step 2: which field each column of the file fills (one select per column), and how
    its numeric dates are read."""

    date_order = forms.ChoiceField(
        label=_("Numeric dates such as 07/12/1946"),
        choices=DateOrder.choices,
        initial=DateOrder.AUTO,
        required=False,  # a form without the field (an older page) reads dates as "auto"
        help_text=_(
            "Infer: a column with a day above 12 first (25/12) is read day first, one with a "
            "month second above 12 (12/25) month first; otherwise each row is read by its "
            "country and a date that could be read both ways is imported with a warning."
        ),
    )
    template_name = forms.CharField(
        label=_("Save this mapping as a template"),
        required=False,
        max_length=100,
        help_text=_(
            "Optional. Give it a name to offer it for the next file of this shape; a template "
            "of the same name is replaced."
        ),
    )

    def __init__(
        self,
        *args,
        header: list[str],
        initial_mapping: dict[str, str],
        can_save_template: bool,
        initial_date_order: str = DateOrder.AUTO,
        custom_choices: list[tuple[str, str]] = (),
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_order"].initial = initial_date_order
        self.header = header
        self.mapping: dict[str, str] = {}
        # A column mapped to anything else (a field that does not exist) is refused by name.
        choices = mapping_choices() + list(custom_choices)
        known = {name for name, _label in choices}
        for index, column in enumerate(header):
            initial = initial_mapping.get(column, "")
            self.fields[self.column_field_name(index)] = forms.ChoiceField(
                label=column,
                choices=choices,
                required=False,
                initial=initial if initial in known else "",
            )
        if not can_save_template:
            del self.fields["template_name"]

    @staticmethod
    def column_field_name(index: int) -> str:
        return f"column_{index}"

    def column_fields(self) -> list[forms.BoundField]:
        return [self[self.column_field_name(index)] for index in range(len(self.header))]

    def clean(self):
        cleaned = super().clean()
        mapping = {
            column: cleaned.get(self.column_field_name(index)) or ""
            for index, column in enumerate(self.header)
        }
        columns_by_field: dict[str, list[str]] = {}
        for column, field in mapping.items():
            if field:
                columns_by_field.setdefault(field, []).append(column)
        for field, columns in columns_by_field.items():
            if len(columns) > 1:
                self.add_error(
                    None,
                    ValidationError(
                        _(
                            "%(field)s is chosen for more than one column (%(columns)s). "
                            "Choose it for one column and set the others to (ignore)."
                        ),
                        code="field_mapped_twice",
                        params={
                            "field": field_label(field),
                            "columns": ", ".join(f"“{column}”" for column in columns),
                        },
                    ),
                )
                for index, column in enumerate(self.header):
                    if column in columns:
                        self.add_error(
                            self.column_field_name(index),
                            ValidationError(_("Chosen for another column too."), code="repeated"),
                        )
        if not any(field in columns_by_field for field in IDENTIFIER_FIELDS):
            self.add_error(
                None,
                ValidationError(
                    _(
                        "Map at least one identifier column: email, phone or external id. "
                        "Customers are recognised by these; a row without any is rejected."
                    ),
                    code="no_identifier",
                ),
            )
        self.mapping = mapping
        return cleaned

    def clean_template_name(self) -> str:
        return " ".join(self.cleaned_data.get("template_name", "").split())


class TemplateChoiceForm(forms.Form):
    """Apply a saved mapping to the columns of this file (step 2, a GET form)."""

    template = forms.ModelChoiceField(
        label=_("Saved template"),
        queryset=ImportTemplate.objects.none(),
        empty_label=_("Choose a template…"),
        error_messages={"invalid_choice": _("That template is not available.")},
    )

    def __init__(self, *args, templates: QuerySet[ImportTemplate], show_team: bool, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        field.queryset = templates
        if show_team:
            field.label_from_instance = lambda template: f"{template.name} · {template.owner_team}"
