"""The portal app holds project-wide pieces (settings, Celery, health) and no tables."""
