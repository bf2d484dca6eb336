"""Customers and everything attached to them: identities, events, purchases, imports, merges."""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from privacy.core.fields import EncryptedTextField
from privacy.models import Team


class Channel(models.TextChoices):
    STORE = "store", _("Store")
    WEB = "web", _("Web")
    WECHAT = "wechat", _("WeChat")
    EVENT = "event", _("Event")
    CRM = "crm", _("CRM")
    SHOP = "shop", _("Online shop")
    APP = "app", _("App")
    API = "api", _("API")
    STAFF = "staff", _("Staff entry")
    IMPORT = "import", _("Import")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class LifecycleStatus(models.TextChoices):
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    INACTIVE = "inactive", _("Inactive")


class CustomerQuerySet(models.QuerySet):
    def active(self):
        """Customers that were not merged into another profile."""
        return self.filter(merged_into__isnull=True)

    def processable(self):
        """Active customers whose data may be used for segments and campaigns: a restriction
        request keeps a customer's data but stops that use."""
        return self.active().filter(processing_restricted_at__isnull=True)

    def marketable(self):
        """Customers who may receive direct marketing (consent is checked per send on top)."""
        return self.processable().filter(marketing_objection_at__isnull=True)


class Customer(models.Model):
    """One person, owned by a team. Contact details are encrypted; look-ups use identities."""

    owner_team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="customers", verbose_name=_("team")
    )
    # Encrypted contact details (AES-GCM; see privacy.core.crypto).
    email = EncryptedTextField(_("email"), null=True, blank=True)
    phone = EncryptedTextField(_("phone"), null=True, blank=True)
    given_name = EncryptedTextField(_("given name"), null=True, blank=True)
    family_name = EncryptedTextField(_("family name"), null=True, blank=True)
    postal_address = EncryptedTextField(_("postal address"), null=True, blank=True)
    notes = EncryptedTextField(_("notes"), null=True, blank=True)
    # Keyed HMAC tokens of the normalised name, for search without plaintext.
    name_index = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    # Keyed HMAC tokens of name-word and email local-part prefixes (customers.search_tokens).
    search_prefixes = ArrayField(models.CharField(max_length=32), default=list, blank=True)

    # Non-identifying attributes, plain for segment queries.
    email_domain = models.CharField(_("email domain"), max_length=255, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # Set from a full birth date too; alone when only the year is known ("1957").
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    age_band = models.CharField(_("age band"), max_length=8, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    source_channel = models.CharField(_("source channel"), max_length=32, blank=True)
    signup_date = models.DateField(_("signup date"), null=True, blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    # Values of the team's custom fields (customers.CustomField), as typed JSON values; the
    # values of fields that hold personal data are in ``private_attributes``, encrypted.
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    private_attributes = EncryptedTextField(_("personal custom attributes"), null=True, blank=True)
    lifecycle_status = models.CharField(
        _("lifecycle status"),
        max_length=16,
        choices=LifecycleStatus.choices,
        default=LifecycleStatus.LEAD,
    )
    # Which source last set each field, and when: {"city": ["crm", "2026-01-02T03:04:05Z"]}.
    provenance = models.JSONField(default=dict, blank=True, editable=False)

    # Derived metrics (customers.services.enrichment keeps them current).
    first_purchase_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_purchase_at = models.DateTimeField(null=True, blank=True, editable=False)
    order_count = models.PositiveIntegerField(default=0, editable=False)
    total_spend = models.DecimalField(max_digits=14, decimal_places=2, default=0, editable=False)
    average_order_value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    lifetime_value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, editable=False
    )
    rfm_recency = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    rfm_frequency = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    rfm_monetary = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    rfm_group = models.CharField(max_length=32, blank=True, editable=False)
    metrics_updated_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Set by data-subject requests: a restricted customer is kept but left out of segments and
    # campaigns; an objection to direct marketing leaves them out of marketing for good.
    processing_restricted_at = models.DateTimeField(
        _("processing restricted"), null=True, blank=True, editable=False
    )
    marketing_objection_at = models.DateTimeField(
        _("objected to marketing"), null=True, blank=True, editable=False
    )

    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_customers",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["owner_team", "country"], name="customer_team_country_idx"),
            models.Index(fields=["email_domain"], name="customer_email_domain_idx"),
            models.Index(fields=["rfm_group"], name="customer_rfm_group_idx"),
            GinIndex(fields=["tags"], name="customer_tags_gin"),
            GinIndex(fields=["name_index"], name="customer_name_index_gin"),
            GinIndex(fields=["search_prefixes"], name="customer_search_prefixes_gin"),
            GinIndex(
                fields=["attributes"], opclasses=["jsonb_path_ops"], name="customer_attributes_gin"
            ),
            models.Index(
                fields=["owner_team", "-id"],
                name="customer_active_team_idx",
                condition=Q(merged_into__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Customer #{self.pk}"

    @property
    def display_name(self) -> str:
        """Family name first for Chinese, Japanese and Korean names (without a space when
        written in CJK script), given name first otherwise."""
        given, family = self.given_name or "", self.family_name or ""
        if _is_cjk(given + family):
            return f"{family}{given}"
        if self.country in {"CN", "JP", "KR", "TW", "HK", "MO"}:
            return " ".join(part for part in (family, given) if part)
        return " ".join(part for part in (given, family) if part)


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= char <= "\u9fff" for char in text)


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    INTEGER = "integer", _("Whole number")
    DECIMAL = "decimal", _("Decimal number")
    DATE = "date", _("Date")
    YEAR = "year", _("Year")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("One of a list")
    MULTI_CHOICE = "multi_choice", _("Several of a list")


class CustomField(models.Model):
    """A typed custom field of a team's customers; values live in ``Customer.attributes`` (or,
    for personal data, encrypted in ``Customer.private_attributes``) under ``key``."""

    owner_team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="custom_fields", verbose_name=_("team")
    )
    key = models.SlugField(_("key"), max_length=63)
    label_en = models.CharField(_("label (English)"), max_length=100)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100, blank=True)
    type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    options = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    min_value = models.DecimalField(
        _("minimum"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    pattern = models.CharField(_("pattern"), max_length=200, blank=True)
    is_personal_data = models.BooleanField(_("personal data"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner_team", "key"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        permissions = [("manage_customfield", "Can define the custom fields of a team")]
        constraints = [
            models.UniqueConstraint(fields=["owner_team", "key"], name="custom_field_unique_key")
        ]

    def __str__(self) -> str:
        return self.key


class CustomerUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Customer, on_delete=models.CASCADE)


class CustomerGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Customer, on_delete=models.CASCADE)


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    EXTERNAL = "external", _("External id")


class Identity(models.Model):
    """An identifier of a customer: an email, a phone or an id on another channel.

    Emails and phones are held as a blind index (``lookup_key``) plus their encrypted value;
    external ids (CRM id, WeChat id, shop id) as they are. One identifier belongs to one
    customer per team, which is what identity resolution relies on.
    """

    access_owner_path = "owner_team"

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=8, choices=IdentityKind.choices)
    channel = models.CharField(max_length=32, blank=True)
    lookup_key = models.CharField(max_length=128)
    value = EncryptedTextField(null=True, blank=True)
    source = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_team", "kind", "channel", "lookup_key"], name="identity_unique_key"
            )
        ]
        indexes = [models.Index(fields=["customer"], name="identity_customer_idx")]

    def __str__(self) -> str:
        if self.kind == IdentityKind.EXTERNAL:
            return f"{self.channel}:{self.lookup_key}"
        return f"{self.kind} identity #{self.pk}"


class Event(models.Model):
    """Something a customer did (page view, sign-up, store visit...), at a point in time."""

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"))
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=32, blank=True)
    client_id = models.CharField(_("client id"), max_length=128, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_team", "source", "client_id"],
                condition=~Q(client_id=""),
                name="event_unique_client_id",
            )
        ]
        indexes = [
            models.Index(
                fields=["customer", "type", "occurred_at"], name="event_customer_type_idx"
            ),
            models.Index(fields=["type", "occurred_at"], name="event_type_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Purchase(models.Model):
    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    # Empty only for a purchase kept for accounting after its customer was erased
    # (ERASURE_KEEP_PURCHASES_FOR_ACCOUNTING): the order stays, nothing ties it to a person.
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="purchases"
    )
    source = models.CharField(_("source"), max_length=32, blank=True)
    order_reference = models.CharField(_("order reference"), max_length=128)
    occurred_at = models.DateTimeField(_("occurred at"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    items = models.JSONField(_("items"), default=list, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_team", "source", "order_reference"], name="purchase_unique_order"
            )
        ]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="purchase_customer_time_idx")
        ]

    def __str__(self) -> str:
        return f"{self.order_reference}: {self.amount} {self.currency}"


def _import_upload_path(instance: ImportJob, filename: str) -> str:
    # Uploads are stored under generated names; the original name is kept in the row only.
    return f"imports/{uuid.uuid4().hex}{Path(filename).suffix.lower()[:8]}"


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    PURCHASES = "purchases", _("Purchases")
    EVENTS = "events", _("Events")


class DateOrder(models.TextChoices):
    """How an import reads numeric dates such as 07/12/1946 (customers.normalisation)."""

    AUTO = "auto", _("Infer from the file, else by each row's country")
    DAY_FIRST = "day_first", _("Day first (31/12/1990)")
    MONTH_FIRST = "month_first", _("Month first (12/31/1990)")


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to start")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportJob(models.Model):
    """One file being imported, in chunks, by the worker; resumable from ``next_line``."""

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=ImportKind.choices, default="customers")
    file = models.FileField(upload_to=_import_upload_path)
    original_filename = models.CharField(max_length=255, blank=True)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=16, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    is_dry_run = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    next_line = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    warning_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.get_kind_display()})"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.SUCCEEDED else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportJobUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ImportJob, on_delete=models.CASCADE)


class ImportJobGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ImportJob, on_delete=models.CASCADE)


class RowOutcome(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    MERGED = "merged", _("Merged")
    UNCHANGED = "unchanged", _("Unchanged")
    REJECTED = "rejected", _("Rejected")


class ImportRow(models.Model):
    """The report line of one imported row. Holds no values from the file, only the verdict."""

    access_owner_path = "job__owner_team"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    line_number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=12, choices=RowOutcome.choices)
    warnings = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Keyed hash of the normalised record: a record imported before is not applied again,
    # which makes re-importing a file a no-op. Holds no personal data.
    fingerprint = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        ordering = ["line_number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "line_number"], name="import_row_unique_line")
        ]
        indexes = [models.Index(fields=["customer"], name="import_row_customer_idx")]

    def __str__(self) -> str:
        return f"line {self.line_number}: {self.outcome}"


class ImportTemplate(models.Model):
    """A saved column mapping and date order that staff can reuse for files of the same shape."""

    owner_team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=ImportKind.choices, default="customers")
    mapping = models.JSONField(default=dict)
    date_order = models.CharField(
        _("date order"), max_length=16, choices=DateOrder.choices, default=DateOrder.AUTO
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_team", "name"], name="import_template_unique")
        ]

    def __str__(self) -> str:
        return self.name


class MergeRecord(models.Model):
    """A merge of ``merged`` into ``survivor``: what moved and what was overwritten, for undo."""

    access_owner_path = "survivor__owner_team"

    survivor = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges")
    merged = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=32)
    performed_at = models.DateTimeField(auto_now_add=True)
    # The survivor's profile before the merge, as JSON (encrypted: it is personal data), so
    # the values the merge overwrote are kept and an undo restores them exactly.
    survivor_before = EncryptedTextField(null=True, blank=True)
    overwritten_fields = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    moved = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-performed_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.merged_id} into #{self.survivor_id}"


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    MERGED = "merged", _("Merged")
    DISMISSED = "dismissed", _("Dismissed")


class DuplicateCandidate(models.Model):
    """Two customers that may be one person (same name and birth date, or same name and place)."""

    owner_team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    first = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=64)
    # How alike the two are, 0 to 100, and what matched ("name", "birth_date", "postal_code",
    # "city", "email_domain"): ``customers.services.duplicates`` decides both.
    score = models.PositiveSmallIntegerField(default=0)
    reasons = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    status = models.CharField(
        max_length=12, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="duplicate_unique_pair"),
            models.CheckConstraint(
                condition=Q(first__lt=models.F("second")), name="duplicate_ordered"
            ),
        ]
        indexes = [
            # The queue: a team's open pairs, most alike first.
            models.Index(
                fields=["owner_team", "status", "-score", "id"], name="duplicate_queue_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.first_id} ~ #{self.second_id} ({self.reason})"


class CustomerListView(models.Model):
    """A user's saved view of the customer list: a name, the filters and the columns shown.

    Filters hold no personal data: the search box (an email, a phone, a name) is never saved,
    only the filters ``customers.services.list_views.SAVED_FILTERS`` names.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_list_views"
    )
    name = models.CharField(_("name"), max_length=80)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    columns = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("saved customer list view")
        verbose_name_plural = _("saved customer list views")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="customer_list_view_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


# The data-quality snapshots live with the rest of their package (customers/quality/).
from customers.quality.models import DataQualitySnapshot  # noqa: E402, F401
