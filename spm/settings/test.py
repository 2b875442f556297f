"""Test profile: real PostgreSQL and Redis (see tests/conftest.py and spm.devstack)."""

import os

from spm.settings.base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; argon2 tested apart
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A queue of its own per test process, so parallel runs never steal each other's tasks.
CELERY_TASK_DEFAULT_QUEUE = f"spm-test-{os.getpid()}"
CACHES["default"]["KEY_PREFIX"] = f"spm-test-{os.getpid()}"  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

# Static files straight from the finders (no collectstatic needed outside production).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The API takes JSON bodies only: the test client sends JSON unless told otherwise.
REST_FRAMEWORK["TEST_REQUEST_DEFAULT_FORMAT"] = "json"  # noqa: F405

# The webhook tests run a real receiver on 127.0.0.1 (integrations.webhooks.destinations)
# and wait for retries in tenths of a second.
WEBHOOK_ALLOW_LOOPBACK = True
WEBHOOK_RETRY_BASE_SECONDS = 0.1
WEBHOOK_MAX_ATTEMPTS = 3
WEBHOOK_PAUSE_AFTER_FAILURES = 2
WEBHOOK_TIMEOUT_SECONDS = 5
