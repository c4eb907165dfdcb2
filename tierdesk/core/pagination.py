# Kept apart from core.api: DRF imports the default pagination class while it is still
# importing its generic views, so this module must not import them.
from rest_framework.pagination import CursorPagination


class StableCursorPagination(CursorPagination):
    """Cursor pages stay correct while tickets are added; newest first."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 200
