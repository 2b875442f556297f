"""Production profile: passes `manage.py check --deploy` with no warnings."""

from spm.env import EnvError, env_bool, env_int, env_str
from spm.settings.base import *  # noqa: F403

SECRET_KEY = env_str("SECRET_KEY") or ""
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-only"):
    raise EnvError(
        "SECRET_KEY must be set to a random string of at least 50 characters in production."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
