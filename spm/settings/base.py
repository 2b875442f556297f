"""Settings shared by every profile. Values that vary come from spm.env."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from spm.env import EnvError, env_bool, env_choice, env_int, env_list, env_path, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = env_path("SPM_VAR_DIR", BASE_DIR / "var")

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me") or ""
# Off unless asked for, in every profile (README, "Configuration"): debug pages list
# every URL pattern and settings to whoever reaches them.
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

AUTH_USER_MODEL = "spm.User"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "pgtrigger",
    "pghistory",
    "spm",
]
# The pillars, in dependency order (docs/architecture.md, "Layout"):
# spm <- pipeline <- goals <- kpis <- incentives; coaching reads them all.
# A pillar is installed once its app module exists.
PILLAR_APPS = ["pipeline", "goals", "kpis", "incentives", "coaching"]
INSTALLED_APPS += [app for app in PILLAR_APPS if (BASE_DIR / app / "apps.py").exists()]
# Platform apps sit above the pillars and may import every one of them.
PLATFORM_APPS = ["integrations"]
INSTALLED_APPS += PLATFORM_APPS

MIDDLEWARE = [
    "spm.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "spm.limits.RequestSizeLimitMiddleware",
    "axes.middleware.AxesMiddleware",
    "integrations.audit.context.AuditContextMiddleware",
    "spm.tenancy.middleware.TenantMiddleware",
    "integrations.sso.SsoRequiredMiddleware",
]

ROOT_URLCONF = "spm.urls"
WSGI_APPLICATION = "spm.wsgi.application"

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
                "django.template.context_processors.csp",
                "spm.context_processors.tenancy",
            ],
            "builtins": ["spm.templatetags.spm_format"],
        },
    },
]


def _database(url: str, *, name: str) -> dict:
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))
    except ValueError as exc:
        raise EnvError(f"{name} is not a valid database URL: {exc}") from exc
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise EnvError(f"{name} must point at PostgreSQL (postgres://...), got {url!r}")
    # Django's PostgreSQL backend fitted to tenant-led keys (plain PostgreSQL and Citus).
    config["ENGINE"] = "spm.db.postgresql"
    config["CONN_HEALTH_CHECKS"] = True
    return dict(config)


# The runtime role (DATABASE_URL) owns nothing and is subject to Row Level
# Security; the owner role (DATABASE_OWNER_URL) runs migrations only
# (README, "Tenancy: two walls").
_database_url = env_str("DATABASE_URL")
if not _database_url:
    raise EnvError(
        "DATABASE_URL is not set. Start SPM with `make run` and run manage.py commands "
        'with `make manage ARGS="..."` (both set it, embedding PostgreSQL when needed), '
        "or export DATABASE_URL and DATABASE_OWNER_URL."
    )
_owner_url = env_str("DATABASE_OWNER_URL") or _database_url
DATABASES = {
    "default": _database(_database_url, name="DATABASE_URL"),
    "owner": _database(_owner_url, name="DATABASE_OWNER_URL"),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = (
    env_url("REDIS_URL", None, schemes=("redis", "rediss", "redis+socket", "unix"))
    or "redis://127.0.0.1:6379/0"
)

CACHES = {
    "default": {
        # Django's Redis cache, a miss (not an error) while Redis is down (spm/cache.py).
        "BACKEND": "spm.cache.TolerantRedisCache",
        "LOCATION": REDIS_URL.replace("redis+socket://", "unix://"),
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "spm") or "spm",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }
}

# Content-Security-Policy (Django's own): scripts from this origin or carrying the
# request's nonce (`<script nonce="{{ csp_nonce }}">`), no inline handlers, no eval;
# styles may be inline (plotly positions its charts with style attributes).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Single sign-on through the tenant's OpenID Connect provider (integrations.sso).
    "integrations.sso.TenantOidcBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

# Brute-force protection, on the browser login and the API token endpoint alike:
# ten failures lock the username (from any address) and the address (for any
# username) for 15 minutes; the lockout is audited in the user's tenants
# (spm/security.py).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "spm.security.lockout_response"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Where the app is reached: links in emails sent outside a request (API or task invites).
SPM_BASE_URL = env_url("SPM_BASE_URL", None, schemes=("http", "https")) or "http://127.0.0.1:8000"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SPM <noreply@spm.localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT: Path | None = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the application writes (background exports) live under the var directory.
MEDIA_ROOT = VAR_DIR / "media"
# Days a background export's file is kept for its download (README, "Exports in the background").
SPM_EXPORT_DAYS = env_int("SPM_EXPORT_DAYS", 7, minimum=1, maximum=90)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "spm.staticfinders.PlotlyFinder",
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "spm.api.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Tenant API tokens only; the rates are SPM_API_TOKEN_RATE and SPM_API_TENANT_RATE.
    "DEFAULT_THROTTLE_CLASSES": [
        "spm.api.tokens.TokenRateThrottle",
        "spm.api.tokens.TenantTokenRateThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "spm.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "spm.api.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "spm.api.schema.SpmAutoSchema",
    "EXCEPTION_HANDLER": "spm.api.errors.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # API bodies are JSON; an endpoint that takes a file upload declares its own parsers.
    "DEFAULT_PARSER_CLASSES": ["spm.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
# Rate limits of tenant API tokens ("<n>/<second|minute|hour|day>"): per token, and for
# all tokens of one tenant together (README, "Integrating with SPM").
# Request body limits (spm/limits.py): a larger body gets 413 before it is read.
# SPM_MAX_UPLOAD_MB for file uploads (CSV imports), SPM_MAX_BODY_MB for any other
# body (API JSON: a bulk upsert of 5,000 deals is about 2 MB).
SPM_MAX_UPLOAD_BYTES = env_int("SPM_MAX_UPLOAD_MB", 20, minimum=1, maximum=1024) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SPM_MAX_BODY_MB", 5, minimum=1, maximum=1024) * 1024 * 1024
SPM_API_TOKEN_RATE = env_str("SPM_API_TOKEN_RATE", "600/minute") or "600/minute"
SPM_API_TENANT_RATE = env_str("SPM_API_TENANT_RATE", "3000/minute") or "3000/minute"

SPECTACULAR_SETTINGS = {
    "TITLE": "SPM API",
    "DESCRIPTION": (
        "Sales Performance Management. Every tenant's resources live under "
        "/api/v1/{tenant_slug}/. Money travels as decimal strings. Errors are "
        "RFC 9457 problem+json documents."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI from the installed drf-spectacular-sidecar package, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" field: each choice set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "DealStatusEnum": "pipeline.models.DealStatus",
        "GoalStatusEnum": "goals.models.GoalStatus",
        "PlanVersionStatusEnum": "incentives.models.VersionStatus",
        "CalcRunStatusEnum": "incentives.models.CalcRun.Status",
        "WebhookEventTypeEnum": "integrations.models.WebhookEvent",
        "ForecastCategoryEnum": "pipeline.models.ForecastCategory",
        # company / team / member: a goal's level and a forecast's subject alike
        "OrgLevelEnum": "goals.models.GoalLevel",
        "ActionItemStatusEnum": "coaching.models.ActionStatus",
        "NotificationKindEnum": "incentives.models.NotificationKind",
        "MemberRoleEnum": "spm.roles.Role",
        "CreditRoleEnum": "incentives.models.CreditRole",
    },
}

# Audit trail (README, "Audit trail"; integrations/audit/): database triggers written
# with django-pgtrigger and django-pghistory. The triggers sit on tables of other apps
# but are installed by the integrations app's own migration, so pgtrigger does not add
# them to those apps' migrations.
PGTRIGGER_MIGRATIONS = False
PGTRIGGER_INSTALL_ON_MIGRATE = False

# Webhooks (README, "Integrating with SPM"): attempts per delivery, the first retry's
# delay (doubled after each failed attempt), failed deliveries in a row that pause a
# subscription, and the time an endpoint has to answer.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=20)
WEBHOOK_RETRY_BASE_SECONDS: float = env_int("WEBHOOK_RETRY_BASE_SECONDS", 60, minimum=1)
WEBHOOK_PAUSE_AFTER_FAILURES = env_int("WEBHOOK_PAUSE_AFTER_FAILURES", 5, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
# Loopback destinations (over HTTP too) are refused like every private address; only
# the test settings turn this on, for the tests' receiver on 127.0.0.1. Not read from
# the environment, so no deployment can turn it on by accident.
WEBHOOK_ALLOW_LOOPBACK = False

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "spm") or "spm"
# How much lower a worker's task processes run than the web (os.nice; 0: the same).
SPM_WORKER_NICE = env_int("SPM_WORKER_NICE", 10, minimum=0, maximum=19)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A task is acknowledged once it has run, and given back to the queue when its
# worker dies under it (SIGKILL, out of memory): it runs again elsewhere, and tasks
# are idempotent (README, "Reliability").
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# The local hour (each tenant's time zone) after which the nightly jobs run
# (spm/schedules.py: an hourly tick, claimed once per tenant and local date).
SPM_NIGHTLY_HOUR = env_int("SPM_NIGHTLY_HOUR", 2, minimum=0, maximum=23)

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}},
}
