"""Public pages opened from emails, no login: the preference centre, one-click unsubscribe
and double opt-in confirmation. Included at the site root (``/preferences/``, ``/confirm/``);
each view is marked ``public_page``, so ``privacy.core.middleware.StaffAccessMiddleware`` lets
it through."""

from django.urls import path

from privacy.consent.views import public

urlpatterns = [
    path(
        "preferences/<str:token>/",
        public.preference_centre,
        name="consent-preferences",
    ),
    path(
        "preferences/<str:token>/unsubscribe/<slug:purpose_code>/",
        public.preference_unsubscribe,
        name="consent-unsubscribe",
    ),
    path(
        "confirm/<str:token>/",
        public.double_opt_in_confirmation,
        name="consent-confirm",
    ),
]
