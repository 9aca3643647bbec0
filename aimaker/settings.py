"""AI Maker settings: one module, configured from the environment (12-factor).

With no environment at all it runs: SQLite and an embedded Redis under the data directory,
a secret key generated once and kept in the data directory, localhost hosts, static files
served by whitenoise, and DEBUG off, so `make run` is safe to leave running (a 404 never
shows Django's debug page). Developers turn DEBUG on with DEBUG=1.

Local or deployed? One rule: setting ALLOWED_HOSTS (a real host name) makes it a deployment.
Then SECRET_KEY is required and the HTTPS defaults are on (redirect to https, secure
cookies, HSTS). Without ALLOWED_HOSTS it serves http://127.0.0.1:8000 with cookies that work
over plain http. AIMAKER_HTTPS=1/0 overrides the HTTPS defaults either way, and each
SECURE_* / *_COOKIE_SECURE variable overrides its own setting. Production sets at least
SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


# pytest sets PYTEST_VERSION; its subprocesses (workers, servers) inherit it.
TESTING = bool(os.environ.get("PYTEST_VERSION")) or "pytest" in Path(sys.argv[0]).name

if os.environ.get("AIMAKER_DATA_DIR"):
    DATA_DIR = Path(os.environ["AIMAKER_DATA_DIR"]).resolve()
elif TESTING:
    # Each test session gets its own directory (database, embedded Redis, media), so two
    # sessions on one machine never share state; its subprocesses inherit it.
    DATA_DIR = BASE_DIR / ".data" / "test" / f"session-{os.getpid()}"
    os.environ["AIMAKER_DATA_DIR"] = str(DATA_DIR)
    import atexit
    import shutil

    atexit.register(shutil.rmtree, DATA_DIR, ignore_errors=True)
else:
    DATA_DIR = BASE_DIR / ".data" / "dev"
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# A deployment names its hosts; a local `make run` does not (see the module docstring).
DEPLOYED = bool(os.environ.get("ALLOWED_HOSTS", "").strip())
HTTPS = env_bool("AIMAKER_HTTPS", DEPLOYED)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if DEPLOYED:
        raise RuntimeError("SECRET_KEY must be set when ALLOWED_HOSTS is set (a deployment).")
    path = DATA_DIR / "secret_key"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_urlsafe(50))
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_rq",
    "rest_framework",
    "drf_spectacular",
    "aimaker",
    "projects",
    "datasets",
    "training",
    "inference",
    "axes",
    "csp",
    "django_prometheus",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times whole requests
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # it turns a lockout into the lockout page
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last
]

ROOT_URLCONF = "aimaker.urls"
ASGI_APPLICATION = "aimaker.asgi.application"
WSGI_APPLICATION = "aimaker.wsgi.application"

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
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web process and workers write concurrently: WAL and a busy timeout avoid "locked" errors.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not :memory:, so that test workers and servers in subprocesses share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: queues, channel layer, cache --------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if not REDIS_URL:
    from aimaker.embedded_redis import ensure_embedded_redis

    REDIS_URL = ensure_embedded_redis(DATA_DIR / "redis")
    os.environ["REDIS_URL"] = REDIS_URL  # children (workers, servers) share this server

# redis-py 8 cut its default socket_timeout to 5 s: the same as the core layer's blocking
# receive (BZPOPMIN for 5 s), so every idle websocket failed and reconnected. A read timeout
# above that wait keeps idle sockets open and still notices a Redis that went away.
# AIMAKER_CHANNEL_LAYER: "core" (lists per channel) or "pubsub" (Redis pub/sub: one message per
# server process per event, however many viewers); see docs/benchmarks.md (bench.live).
AIMAKER_CHANNEL_LAYER = os.environ.get("AIMAKER_CHANNEL_LAYER", "pubsub")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": {
            "core": "channels_redis.core.RedisChannelLayer",
            "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        }[AIMAKER_CHANNEL_LAYER],
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}],
            "prefix": "aimaker:ch:",
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "aimaker-test" if TESTING else "aimaker",
        "OPTIONS": {"pool_class": "aimaker.cache.SharedConnectionPool"},
    }
}

# Long jobs (training) pass their own timeout; RQ's 180 s default would kill them.
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600} for name in ("default", "collect", "training")
}
AIMAKER_TRAINING_WORKERS = env_int("AIMAKER_TRAINING_WORKERS", 1)
# daphne processes of `runall` sharing one port: one per core, at most 4 (each process runs
# one request's Python at a time and holds its own model cache).
AIMAKER_WEB_PROCESSES = env_int("AIMAKER_WEB_PROCESSES", max(1, min(4, os.cpu_count() or 1)))
# The longest one run may hold a training worker (then it fails with a message).
AIMAKER_TRAINING_JOB_TIMEOUT = env_int("AIMAKER_TRAINING_JOB_TIMEOUT", 12 * 3600)

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "home"

# Mail goes out by SMTP once a mail server is configured; until then it is printed to the
# console (password reset links included), so zero configuration never fails on sending.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "AI Maker <noreply@localhost>")

# --- I18N ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve straight from static/ without collectstatic
MEDIA_ROOT = Path(os.environ.get("AIMAKER_MEDIA_ROOT") or DATA_DIR / "media")

AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
if AWS_STORAGE_BUCKET_NAME:
    # Any S3-compatible store; credentials come from the usual AWS_* variables.
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_LOCATION = os.environ.get("AWS_LOCATION", "")  # a key prefix inside the bucket
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True  # media is private: pages link through access-checked views
    _media_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security (HTTPS defaults for a deployment: see the module docstring) -----------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]  # probes speak plain http
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts only from our own static files, so an injected
# <script> or javascript: link does nothing. Inline style attributes stay allowed (layout only).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],  # same-origin fetch and the websocket (ws/wss, CSP Level 3)
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Proxies in front of the app that append to X-Forwarded-For (0: clients connect directly).
# Every per-client limit reads the client's address by this one rule (aimaker.ratelimit).
AIMAKER_TRUSTED_PROXIES = env_int("AIMAKER_TRUSTED_PROXIES", 0)

# Login throttling (django-axes): too many wrong passwords lock that account and, separately,
# that address for a while; a right password resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "aimaker.ratelimit.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AIMAKER_SIGNUPS_PER_IP_PER_HOUR = env_int("AIMAKER_SIGNUPS_PER_IP_PER_HOUR", 10)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# LOG_FORMAT=json: one JSON object per line; lines a job writes carry its job_id/run_id.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"job": {"()": "aimaker.logs.JobContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(job_id)s %(run_id)s "
            "%(version_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["job"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- AI Maker -----------------------------------------------------------------------------
AIMAKER_PROJECT_MAX_LABELS = 100
AIMAKER_LABEL_MAX_LENGTH = 64
AIMAKER_WS_MAX_MESSAGE_BYTES = 4096
# The staff operations page: an update at most this often while work changes, and one this
# often regardless (workers and queue lengths change without events).
AIMAKER_OPS_UPDATE_SECONDS = env_float("AIMAKER_OPS_UPDATE_SECONDS", 1.0)
AIMAKER_OPS_REFRESH_SECONDS = env_float("AIMAKER_OPS_REFRESH_SECONDS", 5.0)
AIMAKER_EXPLORE_PAGE_SIZE = 24

_shared_weights = BASE_DIR.parent / "shared/models/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
# A local weights file for the backbone; empty means Keras' own weights="imagenet" download.
AIMAKER_BACKBONE_WEIGHTS = os.environ.get("AIMAKER_BACKBONE_WEIGHTS") or (
    str(_shared_weights) if _shared_weights.exists() else ""
)

# Data: limits for uploads, archives and downloads (see datasets/imaging.py, archive.py, fetch.py).
AIMAKER_IMAGE_MAX_BYTES = env_int("AIMAKER_IMAGE_MAX_BYTES", 20 * 1024 * 1024)
AIMAKER_IMAGE_MAX_PIXELS = env_int("AIMAKER_IMAGE_MAX_PIXELS", 40_000_000)
AIMAKER_ZIP_MAX_BYTES = env_int("AIMAKER_ZIP_MAX_BYTES", 2 * 1024**3)  # the upload itself
AIMAKER_ZIP_MAX_ENTRIES = env_int("AIMAKER_ZIP_MAX_ENTRIES", 20_000)
AIMAKER_ZIP_MAX_UNCOMPRESSED = env_int("AIMAKER_ZIP_MAX_UNCOMPRESSED", 4 * 1024**3)
AIMAKER_ZIP_MAX_RATIO = float(os.environ.get("AIMAKER_ZIP_MAX_RATIO", "200"))
AIMAKER_INLINE_IMPORT_MAX = env_int("AIMAKER_INLINE_IMPORT_MAX", 20)  # more files: a job
AIMAKER_MIN_IMAGES_PER_LABEL = env_int("AIMAKER_MIN_IMAGES_PER_LABEL", 10)
# Storage quotas per account (all its AIs together), and predictions kept per AI (the monitor
# deletes the oldest beyond that, with their images).
AIMAKER_QUOTA_IMAGES = env_int("AIMAKER_QUOTA_IMAGES", 100_000)
AIMAKER_QUOTA_BYTES = env_int("AIMAKER_QUOTA_BYTES", 20 * 1024**3)
AIMAKER_PREDICTIONS_KEPT = env_int("AIMAKER_PREDICTIONS_KEPT", 10_000)
# Adult-content screening (datasets/safety.py): web-collected images always, uploads when the
# project asks; at or above the threshold an image is quarantined. 0.8: none of the 341
# clothing-small validation photos reach it (the highest, a skirt, scores 0.58).
AIMAKER_NSFW_FILTER = env_bool("AIMAKER_NSFW_FILTER", True)
AIMAKER_NSFW_THRESHOLD = env_float("AIMAKER_NSFW_THRESHOLD", 0.8)
# After a collection, a background job flags the collected images unlike their label's others.
AIMAKER_OFFTOPIC_CHECK = env_bool("AIMAKER_OFFTOPIC_CHECK", True)
# "Review these" lists the predictions the model gave less than this probability.
AIMAKER_REVIEW_BELOW = env_float("AIMAKER_REVIEW_BELOW", 0.8)
AIMAKER_GALLERY_PAGE_SIZE = 60

# Web collection: providers and what their licenses must be.
AIMAKER_COLLECT_DEFAULT_PROVIDER = os.environ.get("AIMAKER_COLLECT_PROVIDER", "openverse")
AIMAKER_COLLECT_PER_LABEL_DEFAULT = 50
AIMAKER_COLLECT_PER_LABEL_MAX = 200
AIMAKER_COLLECT_CONCURRENCY = env_int("AIMAKER_COLLECT_CONCURRENCY", 8)
AIMAKER_ALLOWED_LICENSES = env_list(
    "AIMAKER_ALLOWED_LICENSES",
    ["cc0", "pdm", "by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd", "pexels", "pixabay"],
)
AIMAKER_PROVIDERS = {
    "openverse": {"api_key": os.environ.get("OPENVERSE_TOKEN", "")},
    "wikimedia": {},
    "flickr": {"api_key": os.environ.get("FLICKR_API_KEY", "")},
    "pexels": {"api_key": os.environ.get("PEXELS_API_KEY", "")},
    "pixabay": {"api_key": os.environ.get("PIXABAY_API_KEY", "")},
    "brave": {"api_key": os.environ.get("BRAVE_SEARCH_API_KEY", "")},
}
for _name, _config in AIMAKER_PROVIDERS.items():
    # An operator's mirror, or the tests' local server: AIMAKER_PROVIDER_BASE_URL_OPENVERSE=...
    _config["base_url"] = os.environ.get(f"AIMAKER_PROVIDER_BASE_URL_{_name.upper()}", "")
# Downloading a found image: seconds to connect, between bytes, and for the whole file.
AIMAKER_FETCH_CONNECT_TIMEOUT = env_float("AIMAKER_FETCH_CONNECT_TIMEOUT", 5.0)
AIMAKER_FETCH_READ_TIMEOUT = env_float("AIMAKER_FETCH_READ_TIMEOUT", 10.0)
AIMAKER_FETCH_TOTAL_TIMEOUT = env_float("AIMAKER_FETCH_TOTAL_TIMEOUT", 30.0)
# The longest one web collection may run before RQ stops it (the row then says so).
AIMAKER_COLLECT_JOB_TIMEOUT = env_int("AIMAKER_COLLECT_JOB_TIMEOUT", 6 * 3600)
# TEST ONLY: lets downloads reach a local test server on 127.0.0.1. Never set in production.
AIMAKER_FETCH_ALLOW_LOOPBACK = TESTING and env_bool("AIMAKER_FETCH_ALLOW_LOOPBACK", False)

# Training. AIMAKER_KERAS_BACKEND: tensorflow (default), jax or torch for the training workers
# (the learning core is backend-agnostic); set before anything imports Keras.
AIMAKER_KERAS_BACKEND = os.environ.get("AIMAKER_KERAS_BACKEND", "")
if AIMAKER_KERAS_BACKEND:
    os.environ["KERAS_BACKEND"] = AIMAKER_KERAS_BACKEND
AIMAKER_FEATURE_CACHE_DIR = Path(
    os.environ.get("AIMAKER_FEATURE_CACHE_DIR") or DATA_DIR / "feature-cache"
)
# Who runs the frozen backbone for feature extraction: auto (ONNX Runtime on a CPU-only
# TensorFlow worker, about 1.8x faster; Keras on a GPU or another backend), onnx or keras.
AIMAKER_EXTRACT_RUNTIME = os.environ.get("AIMAKER_EXTRACT_RUNTIME", "auto")
# Every background job (training runs, imports, collections, exports) beats this often; with no
# beat for AIMAKER_JOB_STALE_SECONDS its worker is gone and the monitor fails it.
AIMAKER_JOB_HEARTBEAT_SECONDS = 5
AIMAKER_JOB_STALE_SECONDS = 30
# Fair sharing of the training workers: runs queued or running at once.
AIMAKER_MAX_ACTIVE_RUNS_PER_USER = env_int("AIMAKER_MAX_ACTIVE_RUNS_PER_USER", 3)
AIMAKER_MAX_ACTIVE_RUNS_PER_PROJECT = env_int("AIMAKER_MAX_ACTIVE_RUNS_PER_PROJECT", 2)

# --- Using models: serving, REST API ------------------------------------------------------
INSTALLED_APPS += ["drf_spectacular_sidecar"]  # Swagger UI files served locally (no CDN)
AIMAKER_SERVING_CACHE_SIZE = env_int("AIMAKER_SERVING_CACHE_SIZE", 4)  # models per process
# onnx: ONNX Runtime, from the model.onnx the worker writes when a version is made (older
# versions: converted once on first load, ~7 s; falls back to Keras where conversion fails):
# faster per request on CPU, see docs/benchmarks.md. keras: the Keras model itself.
AIMAKER_SERVING_RUNTIME = os.environ.get("AIMAKER_SERVING_RUNTIME", "onnx")
AIMAKER_SERVING_THREADS = env_int("AIMAKER_SERVING_THREADS", 0)  # 0: the runtime decides
AIMAKER_SERVING_WARM_ON_DEFAULT = env_bool("AIMAKER_SERVING_WARM_ON_DEFAULT", True)
# The ASGI server loads the default models in a background thread as it starts (not in tests:
# they import the ASGI app without wanting a thread on their database).
AIMAKER_SERVING_WARM_AT_START = env_bool("AIMAKER_SERVING_WARM_AT_START", not TESTING)
# Visitors (anyone but the owner): predictions per client per AI, and models woken per client.
AIMAKER_PREDICT_RATE_PER_MINUTE = env_int("AIMAKER_PREDICT_RATE_PER_MINUTE", 30)
AIMAKER_MODEL_LOADS_PER_MINUTE = env_int("AIMAKER_MODEL_LOADS_PER_MINUTE", 6)
AIMAKER_MAX_API_TOKENS = 50
# /metrics: with a token, scrapers send "Authorization: Bearer <token>"; without, loopback only.
AIMAKER_METRICS_TOKEN = os.environ.get("AIMAKER_METRICS_TOKEN", "")
AIMAKER_API_BAD_TOKENS_PER_MINUTE = env_int("AIMAKER_API_BAD_TOKENS_PER_MINUTE", 20)  # per IP
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "inference.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],  # views check access
    "DEFAULT_THROTTLE_CLASSES": ["inference.authentication.ApiRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": os.environ.get("AIMAKER_API_RATE_TOKEN", "3000/min"),
        "user": os.environ.get("AIMAKER_API_RATE_USER", "600/min"),
        "anon": os.environ.get("AIMAKER_API_RATE_ANON", "60/min"),
    },
    "NUM_PROXIES": AIMAKER_TRUSTED_PROXIES,  # the same rule as aimaker.ratelimit.client_ip
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "AI Maker API",
    "DESCRIPTION": "Predict with your image classifiers, read versions, start training. "
    "Authenticate with `Authorization: Bearer <personal token>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
