"""The API's JSON parser: DRF's, with a body nested too deeply refused as 400."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser. Python's decoder recurses once per nesting level and
    raises RecursionError (not ValueError) past the interpreter's limit, which
    DRF would let through as a 500: here it is a parse error (400)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
