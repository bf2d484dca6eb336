"""Public pages opened from emails, no login: the preference centre, one-click unsubscribe
and double opt-in confirmation. Included at the site root (``/preferences/``, ``/confirm/``);
``privacy.core.middleware.StaffAccessMiddleware`` must let both prefixes through."""

from django.urls import path

from privacy.consent.views import public as views_consent

urlpatterns = [
    path(
        "preferences/<str:token>/",
        views_consent.preference_centre,
        name="consent-preferences",
    ),
    path(
        "preferences/<str:token>/unsubscribe/<slug:purpose_code>/",
        views_consent.preference_unsubscribe,
        name="consent-unsubscribe",
    ),
    path(
        "confirm/<str:token>/",
        views_consent.double_opt_in_confirmation,
        name="consent-confirm",
    ),
]
