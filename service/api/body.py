"""Reading request bodies with a size limit enforced while reading, not after."""

from __future__ import annotations

from fastapi import Request
from starlette.requests import ClientDisconnect

from service.errors import BadRequest, PayloadTooLarge


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes ``limit`` bytes.

    Raises:
        PayloadTooLarge: declared or actual length over ``limit``.
        BadRequest: an unparsable Content-Length.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("invalid Content-Length")
        if int(declared) > limit:
            raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:  # the peer went away mid-request: nothing to answer
        raise BadRequest("the client disconnected before sending the whole body") from exc
    return b"".join(chunks)
