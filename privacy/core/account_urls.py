"""URLs of signing in, re-authentication and staff preferences, included at /accounts/."""

from django.urls import path

from privacy.core import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("mfa/", views.mfa_verify, name="mfa-verify"),
    path("mfa/setup/", views.mfa_setup, name="mfa-setup"),
    path("reauth/", views.reauth, name="reauth"),
    path("logout/", views.logout_view, name="logout"),
    path("preferences/", views.preferences, name="preferences"),
]
