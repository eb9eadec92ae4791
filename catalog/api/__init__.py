"""Catalog REST API, one module per area; each has `register(router)` and `extra_urlpatterns`."""
