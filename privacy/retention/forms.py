from django import forms
from django.utils.translation import gettext_lazy as _

from privacy.models import RetentionCategory

# A century: anything longer is a typing mistake, not a policy.
MAX_RETAIN_DAYS = 36_500


class RetentionPolicyForm(forms.Form):
    retain_days = forms.IntegerField(
        label=_("Keep for (days)"), min_value=1, max_value=MAX_RETAIN_DAYS
    )
    is_active = forms.BooleanField(
        label=_("Purge automatically"),
        required=False,
        help_text=_("When off, neither the nightly purge nor “Run now” removes this data."),
    )

    def __init__(self, *args, category: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.category = category

    def clean_retain_days(self) -> int:
        from privacy.retention.services import AUDIT_FLOOR_DAYS

        days = self.cleaned_data["retain_days"]
        if self.category == RetentionCategory.AUDIT_ENTRIES and days < AUDIT_FLOOR_DAYS:
            raise forms.ValidationError(
                _("Audit entries are kept at least %(days)s days."),
                params={"days": AUDIT_FLOOR_DAYS},
            )
        return days


class RetentionRunForm(forms.Form):
    """The "Run now" button: one category, or every active policy when left empty."""

    category = forms.ChoiceField(
        label=_("Category"),
        choices=[("", _("All active policies")), *RetentionCategory.choices],
        required=False,
    )
