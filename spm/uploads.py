"""Uploaded text files (CSV imports): what every upload is checked for first."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def refuse_binary(data: bytes, *, field: str = "file") -> None:
    """Raise ValidationError naming ``field`` when ``data`` holds a NUL byte (a
    binary file, or a UTF-16 export): no text CSV holds one, and the database
    cannot store it. The message gives the line of the first one."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ValidationError(
            {
                field: f"Line {line} holds a NUL byte: this is not a text CSV file. "
                "Save it as CSV (UTF-8) and upload it again."
            }
        )
