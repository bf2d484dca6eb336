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


class RetentionRunForm(forms.Form):
    """The "Run now" button: one category, or every active policy when left empty."""

    category = forms.ChoiceField(
        label=_("Category"),
        choices=[("", _("All active policies")), *RetentionCategory.choices],
        required=False,
    )
