from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from catalog.scope import scope_resolver_register
        from sharing import audit_actions  # noqa: F401 (registers the audit labels)
        from sharing.visibility import visibility_scope

        # Catalog asks for visibility through this seam and never imports sharing (catalog/scope.py).
        scope_resolver_register(visibility_scope)
