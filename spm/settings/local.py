"""Development profile: `make run`, and manage.py, wsgi and celery when no profile is named.

DEBUG stays off unless DEBUG=1 is set (README, "Configuration").
"""

from spm.settings.base import *  # noqa: F403

# Static files straight from the finders (no collectstatic needed outside production).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
