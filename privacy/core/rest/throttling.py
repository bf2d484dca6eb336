from rest_framework import permissions
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Rate limit per token (or per user for session calls); writes have a lower limit."""

    def __init__(self):
        # The scope depends on the request's method, so the rate is read in allow_request.
        pass

    def get_rate(self):
        # Read at request time (not import time) so settings changes apply.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        self.scope = "api_read" if request.method in permissions.SAFE_METHODS else "api_write"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.auth is not None:  # a privacy.ApiToken; sessions have none
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = "anon-" + (self.get_ident(request) or "")
        return self.cache_format % {"scope": self.scope, "ident": ident}
