"""Tierdesk settings: read from the environment only.

Development defaults are safe to run on a laptop (SQLite under var/, eager background
work, a generated secret kept under var/). `TIERDESK_ENV=production` refuses to start
without a secret key and allowed hosts, and turns on every `check --deploy` protection.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

env = os.environ

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env.get("TIERDESK_VAR_DIR", str(BASE_DIR / "var")))

TIERDESK_ENV = env.get("TIERDESK_ENV", "development")
if TIERDESK_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"TIERDESK_ENV must be development, test or production, not {TIERDESK_ENV!r}")
PRODUCTION = TIERDESK_ENV == "production"


def _csv(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env.get(name, default).split(",") if item.strip()]


def _dev_secret_key() -> str:
    """A per-checkout random key, so no shared default secret ever exists."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env.get("SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when TIERDESK_ENV=production")
    ALLOWED_HOSTS = _csv("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when TIERDESK_ENV=production")
    DEBUG = False
else:
    SECRET_KEY = env.get("SECRET_KEY") or _dev_secret_key()
    ALLOWED_HOSTS = _csv("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
    DEBUG = env.get("DEBUG", "1" if TIERDESK_ENV == "development" else "0") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "tierdesk.core",
    "tierdesk.audit",
    "tierdesk.tenancy",
    "tierdesk.accounts",
    "tierdesk.cmdb",
    "tierdesk.tickets",
    "tierdesk.console",
    "tierdesk.portal",
    "tierdesk.sla",
    "tierdesk.routing",
    "tierdesk.problems",
    "tierdesk.knowledge",
    "tierdesk.notifications",
    "tierdesk.major_incidents",
    "tierdesk.intake",
    "tierdesk.selfservice",
    "tierdesk.reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tierdesk.core.middleware.SecurityHeadersMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tierdesk.config.urls"
WSGI_APPLICATION = "tierdesk.config.wsgi.application"
ASGI_APPLICATION = "tierdesk.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tierdesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "tierdesk.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of
                # failing half-way with "database is locked"; WAL lets readers carry on.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
            },
            # A file, not memory, so that tests with several threads share one database.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Outbound e-mail -------------------------------------------------------------------
# Through the outbox (notifications/outbox.py). Without EMAIL_HOST, mail is written to files
# under var/mail/ (the embedded default: nothing leaves the machine, nothing is lost).
DEFAULT_FROM_EMAIL = env.get("DEFAULT_FROM_EMAIL", "Tierdesk <desk@tierdesk.localhost>")
EMAIL_HOST = env.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(env.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = env.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env.get("EMAIL_USE_TLS", "1") == "1"
    EMAIL_TIMEOUT = 20
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# The domain of our Message-IDs, so replies thread back to the ticket.
MESSAGE_ID_DOMAIN = env.get("MESSAGE_ID_DOMAIN", "tierdesk.localhost")

# --- Cache and background work ----------------------------------------------------------
REDIS_URL = env.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Embedded default: tasks run in-process right after the transaction commits.
    CELERY_BROKER_URL = "memory://localhost/"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses logins for a locked-out username and address.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env.get("TIERDESK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(env.get("TIERDESK_LOGIN_COOLOFF_MINUTES", "15")))
# Lock the pair, so that nobody can lock a colleague out from another address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The login form posts the e-mail address as "username" (axes would otherwise look for "email").
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TIERDESK_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- I18N -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "tierdesk" / "static"]
# Front-end packages from npm (package.json), served from our own origin, never a CDN.
NODE_MODULES = BASE_DIR / "node_modules"
for _prefix, _dist in (("vendor/htmx", "htmx.org/dist"), ("vendor/bootstrap", "bootstrap/dist")):
    if (NODE_MODULES / _dist).is_dir():
        STATICFILES_DIRS.append((_prefix, NODE_MODULES / _dist))
MEDIA_ROOT = Path(env.get("TIERDESK_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
TIERDESK_ATTACHMENT_MAX_BYTES = int(env.get("TIERDESK_ATTACHMENT_MAX_BYTES", str(25 * 1024 * 1024)))
# Uploads bigger than this spill to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# How long after resolution a requester may reopen a ticket.
TIERDESK_REOPEN_WINDOW_DAYS = int(env.get("TIERDESK_REOPEN_WINDOW_DAYS", "7"))

# Knowledge search: re-rank full-text hits with a local sentence-embedding model (the optional
# `semantic` extra; see docs/knowledge-search.md). Off by default; on without the extra it logs once
# and search stays plain full-text.
TIERDESK_KB_RERANK = env.get("TIERDESK_KB_RERANK", "0") == "1"

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.get("SECURE_SSL_REDIRECT", "1") == "1"
    SECURE_HSTS_SECONDS = int(env.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = _csv("CSRF_TRUSTED_ORIGINS")
    if env.get("TIERDESK_BEHIND_TLS_PROXY") == "1":
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tierdesk.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tierdesk.core.pagination.StableCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tierdesk.core.api.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tierdesk API",
    "DESCRIPTION": "IT service desk: tickets, organisations, people, support groups, categories.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI's files come from the sidecar package and are served locally: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tierdesk.tickets.choices.TicketStatus",
        "ImpactUrgencyEnum": "tierdesk.tickets.choices.Level",
        "ProblemStatusEnum": "tierdesk.problems.choices.ProblemStatus",
        "ArticleStatusEnum": "tierdesk.knowledge.choices.ArticleStatus",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # One line per task is noise on the embedded default, where every change runs one.
        "celery.app.trace": {"level": "WARNING"},
        # aiosmtpd logs every SMTP command at INFO; intake logs each message's outcome itself.
        "mail.log": {"level": "WARNING"},
    },
}

# --- The e-mail channel (intake/email, notifications/requester_mail) ---------------------
# A Fernet key for credentials at rest (IMAP passwords); derived from SECRET_KEY when unset.
TIERDESK_CREDENTIALS_KEY = env.get("TIERDESK_CREDENTIALS_KEY", "")
# Messages bigger than this are quarantined unread (the raw bytes are still kept).
TIERDESK_EMAIL_MAX_BYTES = int(env.get("TIERDESK_EMAIL_MAX_BYTES", str(40 * 1024 * 1024)))
# host:port of the SMTP listener `tierdesk run` starts for direct delivery (empty: none; `make run`
# uses 127.0.0.1:2525). In production run `tierdesk intake smtp --lmtp` as its own service instead.
TIERDESK_MAIL_LISTENER = env.get("TIERDESK_MAIL_LISTENER", "")

# --- Mail to requesters (notifications/requester_mail) ------------------------------------
# Where the portal answers, for links in mail (a ticket's page, the satisfaction link).
TIERDESK_BASE_URL = env.get("TIERDESK_BASE_URL", "" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
if PRODUCTION and not TIERDESK_BASE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("TIERDESK_BASE_URL must be set to the desk's address when TIERDESK_ENV=production")
# Acknowledgements to one address per rolling hour; beyond it a mail loop is the likelier cause.
TIERDESK_ACK_LIMIT_PER_HOUR = int(env.get("TIERDESK_ACK_LIMIT_PER_HOUR", "5"))
