"""TAXII 2.1 media types (section 1.6.8) and the tolerances real clients need.

Responses are always ``application/taxii+json;version=2.1``. A request is served when its
``Accept`` admits that: the exact type, ``application/taxii+json`` without the version (some
clients send it, and the reference server's 406 for it breaks them), the STIX media type (what
some clients ask of an objects endpoint), ``*/*``, ``application/*``, or no ``Accept`` at all. A
version other than 2.1 is not served (406). ``POST`` bodies may be TAXII or STIX JSON, with or
without the version parameter, or plain ``application/json``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from service.errors import ServiceError

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
_SERVED = {"application/taxii+json", "application/stix+json", "*/*", "application/*"}
_POSTABLE = {"application/taxii+json", "application/stix+json", "application/json"}


class NotAcceptable(ServiceError):
    status, code, title = 406, "not_acceptable", "Not acceptable"


class UnsupportedMediaType(ServiceError):
    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


def _media_ranges(header: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for part in header.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        if not kind:
            continue
        values = {}
        for param in params:
            name, _, value = param.partition("=")
            values[name.strip().lower()] = value.strip().strip('"')
        ranges.append((kind.lower(), values))
    return ranges


def _acceptable(kind: str, params: dict[str, str]) -> bool:
    if params.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
        return False
    if kind not in _SERVED:
        return False
    version = params.get("version")
    return version is None or version == "2.1" or kind in ("*/*", "application/*")


def check_accept(request: Request) -> None:
    """A dependency: refuse a request whose ``Accept`` admits no TAXII 2.1 response.

    Raises:
        NotAcceptable: 406.
    """
    header = request.headers.get("accept", "").strip()
    if not header:
        return
    if not any(_acceptable(kind, params) for kind, params in _media_ranges(header)):
        raise NotAcceptable(
            f"this server answers {TAXII_MEDIA_TYPE}; the request accepts only {header[:200]!r}"
        )


def check_content_type(request: Request) -> None:
    """Refuse a POST body that is not TAXII or STIX JSON (version 2.1 if one is named).

    Raises:
        UnsupportedMediaType: 415.
    """
    header = request.headers.get("content-type", "")
    ranges = _media_ranges(header)
    if not ranges:
        raise UnsupportedMediaType(f"send the objects as {TAXII_MEDIA_TYPE}")
    kind, params = ranges[0]
    version = params.get("version")
    if kind not in _POSTABLE or (version is not None and version != "2.1"):
        raise UnsupportedMediaType(
            f"send the objects as {TAXII_MEDIA_TYPE} (or {STIX_MEDIA_TYPE}), not {header[:200]!r}"
        )


class TaxiiResponse(Response):
    """A TAXII 2.1 JSON resource."""

    media_type = TAXII_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
