"""The API's base, split so DRF's settings can import each piece without import cycles.

- ``authentication``: token and MFA-verified session authentication;
- ``pagination``, ``throttling``, ``errors``: defaults named in ``REST_FRAMEWORK``;
- ``viewsets``: ``ScopedViewSetMixin`` and the viewsets every endpoint derives from.
"""
