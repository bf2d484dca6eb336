"""Forms of consent: one choice of the public preference centre, a new privacy-notice version."""

from django import forms
from django.utils.translation import gettext_lazy

from privacy.models import ConsentChannel, ConsentStatus


class PreferenceChangeForm(forms.Form):
    """One button of the preference centre: one purpose on one channel, or withdraw all."""

    purpose = forms.SlugField(max_length=64, required=False)
    channel = forms.ChoiceField(choices=ConsentChannel.choices, required=False)
    status = forms.ChoiceField(
        choices=[(ConsentStatus.GRANTED, ""), (ConsentStatus.WITHDRAWN, "")], required=False
    )
    withdraw_all = forms.BooleanField(required=False)
    notice = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("withdraw_all") and not all(
            cleaned.get(name) for name in ("purpose", "channel", "status")
        ):
            raise forms.ValidationError("incomplete")
        return cleaned


class NoticeForm(forms.Form):
    version = forms.CharField(label=gettext_lazy("Version"), max_length=32)
    language = forms.CharField(label=gettext_lazy("Language code"), max_length=16, initial="en")
    text = forms.CharField(label=gettext_lazy("Text shown to people"), widget=forms.Textarea)
