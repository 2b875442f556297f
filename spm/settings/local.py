"""Development profile: `make run` uses it."""

from spm.env import env_bool
from spm.settings.base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)
