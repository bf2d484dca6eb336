"""URLs of the customer list, profile, edit, merge, the duplicates queue and data quality."""

from django.urls import path

from customers.views import customers, duplicates, list_tools, quality

urlpatterns = [
    path("", customers.customer_list, name="customers-home"),
    path("export/", customers.customer_export, name="customer-export"),
    path("columns/", list_tools.customer_list_columns, name="customer-list-columns"),
    path("views/save/", list_tools.customer_list_view_save, name="customer-list-view-save"),
    path("views/delete/", list_tools.customer_list_view_delete, name="customer-list-view-delete"),
    path("bulk/", list_tools.customer_bulk, name="customer-bulk"),
    path("duplicates/", duplicates.duplicate_list, name="duplicate-list"),
    path("quality/", quality.data_quality, name="data-quality"),
    path(
        "duplicates/<int:pk>/decide/",
        duplicates.duplicate_decide_view,
        name="duplicate-decide",
    ),
    path("<int:pk>/", customers.customer_detail, name="customer-detail"),
    path("<int:pk>/timeline/", customers.customer_timeline_rows, name="customer-timeline"),
    path("<int:pk>/edit/", customers.customer_edit, name="customer-edit"),
    path("<int:pk>/merge/", customers.customer_merge_view, name="customer-merge"),
    path("<int:pk>/merge/undo/", customers.customer_merge_undo_view, name="customer-merge-undo"),
    path("<int:pk>/erase/", customers.customer_erase_view, name="customer-erase"),
]
