from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination


class CursorPagination(pagination.CursorPagination):
    """Cursor pages, newest first; ``page_size`` is a whole number from 1 to ``max_page_size``.

    A ``page_size`` that is not such a number is a 400 naming it, not silently the default: a
    client that asks for 1,000 rows and gets 500 back should know why.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-pk"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = _("Rows per page (default %(default)d).") % {
                    "default": self.page_size
                }
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters
