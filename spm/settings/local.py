"""Development profile: `make run` uses it."""

from spm.env import env_bool
from spm.settings.base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)

# Static files straight from the finders (no collectstatic needed outside production).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
