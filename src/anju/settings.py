"""The one settings module. Everything that differs between machines comes from the environment.

Variables (all optional in development):

``DATABASE_URL``     PostgreSQL in production (``postgres://user@host:5432/anju``); SQLite under
                     ``ANJU_DATA_DIR`` when unset.
``REDIS_URL``        a shared Redis (``redis://127.0.0.1:6379/0``): the cache, which then also holds
                     sessions (``cached_db``) and each user's permissions; Celery uses it for
                     background work. Without it there is no shared cache: sessions and
                     permissions are read from the database on every request.
``ANJU_DB_HEALTH_CHECKS`` ``1`` to test a persistent database connection with a query at the start
                     of every request (``CONN_HEALTH_CHECKS``); off by default, see docs/deploy.md.
``ANJU_DB_CONN_MAX_AGE`` seconds a database connection is kept open between requests (default 60).
``MQTT_URL``         the device broker (``mqtt://127.0.0.1:1883``).
``ANJU_SECRET_KEY``  Django's signing key. Development generates one into ``ANJU_DATA_DIR``.
``ANJU_DATA_KEY``    the key that encrypts personal data at rest (a Fernet key, see docs/security.md).
``ANJU_DEBUG``       ``1`` for development pages with tracebacks.
``ANJU_ALLOWED_HOSTS`` comma-separated host names.
``ANJU_DATA_DIR``    where the SQLite database, uploads and development keys live (default ``./var``).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _development_secret(path: Path, make: object) -> str:
    """Read a development-only secret from ``path``, creating it on first use.

    Production sets the environment variable instead; ``anju check --deploy`` warns if it does not.
    """
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make() if callable(make) else str(make)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("ANJU_DATA_DIR", Path.cwd() / "var")).resolve()

DEBUG = _env_flag("ANJU_DEBUG")
SECRET_KEY = os.environ.get("ANJU_SECRET_KEY") or _development_secret(
    DATA_DIR / "secret-key", lambda: secrets.token_urlsafe(50)
)


def _generate_data_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


ANJU_DATA_KEY = os.environ.get("ANJU_DATA_KEY") or _development_secret(DATA_DIR / "data-key", _generate_data_key)
REDIS_URL = os.environ.get("REDIS_URL", "")
MQTT_URL = os.environ.get("MQTT_URL", "")

ALLOWED_HOSTS = _env_list("ANJU_ALLOWED_HOSTS", "127.0.0.1,localhost" if not DEBUG else "*")
CSRF_TRUSTED_ORIGINS = _env_list("ANJU_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",  # serves the Swagger UI files it ships, so /api/docs needs no CDN
    "axes",
    "anju.core",
    "anju.estates",
    "anju.residents",
    "anju.workorders",
    "anju.workorders.preventive",
    "anju.billing",
    "anju.billing.payments",
    "anju.devices",
    "anju.devices.alarms",
    "anju.access",
    "anju.community",
    "anju.web",
    "anju.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "anju.core.middleware.RequestContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "anju.urls"
WSGI_APPLICATION = "anju.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "anju.web.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"], conn_max_age=int(os.environ.get("ANJU_DB_CONN_MAX_AGE", "60"))
        )
    }
    DATABASES["default"].setdefault("OPTIONS", {})
    # A health check costs a query on every request that reuses a connection. Off by default: a
    # connection that died while idle fails that one request and is then replaced. Turn it on where
    # a proxy or firewall silently drops idle connections.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = _env_flag("ANJU_DB_HEALTH_CHECKS")
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "anju.sqlite3"),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock when a
                # transaction starts, so two writers queue on the busy timeout instead of failing
                # half-way with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
            # Tests use a file too, not Django's default shared-cache memory database: shared cache
            # locks whole tables and fails at once ("database table is locked") where a file in WAL
            # mode waits on the busy timeout, so a test with a Celery worker or a live server
            # thread sees the locking production sees.
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------
# Only a cache every web process shares may hold sessions and permissions: a log-out, an ended
# occupancy or contract must take effect on every worker at once. So without Redis there is no
# caching of either (a per-process memory cache would let another worker serve a stale session).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "anju.core.cache.RedisCache",  # Django's, reusing its Redis client
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "anju",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Cache each user's Access (anju.core.permissions) and account (anju.core.auth) in CACHES.
ANJU_ACCESS_CACHE = bool(REDIS_URL)

# --- Payments -------------------------------------------------------------------------------------
# Provider credentials (WeChat Pay v3, Alipay) as a JSON object by provider code, read from the file
# ANJU_PAYMENTS_FILE so that keys stay out of the environment listing; see docs/payments.md.
# Without it only the sandbox provider is on, which accepts demo money: production must configure
# the real providers and leave "sandbox" out.
if os.environ.get("ANJU_PAYMENTS_FILE"):
    ANJU_PAYMENTS = json.loads(Path(os.environ["ANJU_PAYMENTS_FILE"]).read_text(encoding="utf-8"))

# --- Background work ------------------------------------------------------------------------------
# Without a broker, background functions run inline after commit and `anju runperiodic` runs the
# periodic jobs (cron, or the demo's own loop). With REDIS_URL (or ANJU_CELERY_BROKER) the same
# functions run as Celery tasks and celery beat schedules the periodic jobs (anju/celery.py).
CELERY_BROKER_URL = os.environ.get("ANJU_CELERY_BROKER", REDIS_URL)
ANJU_USE_CELERY = bool(CELERY_BROKER_URL) and os.environ.get("ANJU_CELERY", "1") != "0"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "anju.core.auth.UsernameOrPhoneBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = int(os.environ.get("ANJU_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("ANJU_LOGIN_COOLOFF_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

# --- Files ----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
ANJU_IMPORT_MAX_BYTES = 10 * 1024 * 1024

# --- Messaging ------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("ANJU_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("ANJU_FROM_EMAIL", "anju@localhost")
ANJU_SMS_BACKEND = os.environ.get("ANJU_SMS_BACKEND", "anju.core.sms.ConsoleSmsBackend")

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 14 * 24 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = _env_flag("ANJU_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = _env_flag("ANJU_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = int(os.environ.get("ANJU_HSTS_SECONDS", "0"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_flag("ANJU_HSTS_INCLUDE_SUBDOMAINS")
    SECURE_HSTS_PRELOAD = _env_flag("ANJU_HSTS_PRELOAD")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = _env_list("ANJU_SILENCED_CHECKS")

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ANJU_LOG_LEVEL", "WARNING")},
    "loggers": {"axes": {"level": "WARNING"}},
}

ANJU_SITE_NAME = _("anju")
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500
