#!/usr/bin/env python
"""Django's command-line utility for SPM."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spm.settings.local")
    from django.core.management import execute_from_command_line

    from spm.env import EnvError

    try:
        execute_from_command_line(sys.argv)
    except EnvError as exc:
        # A malformed or missing variable: its message names it; no traceback.
        sys.exit(f"manage.py: {exc}")


if __name__ == "__main__":
    main()
