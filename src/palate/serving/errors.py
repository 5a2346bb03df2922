"""Turns invalid requests into 4xx answers that name the offending field."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from palate.serving.responses import JsonResponse


class InvalidFieldError(ValueError):
    """A request field that passed the schema but breaks a configured limit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def field_name(location: tuple[object, ...] | list[object]) -> str:
    """``("body", "location", "lat")`` → ``location.lat``; list indexes as ``[i]``.

    >>> field_name(("body", "events", 3, "ts"))
    'events[3].ts'
    """
    name = ""
    for part in location:
        if part == "body" and not name:
            continue
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


async def on_validation_error(_: Request, exc: Exception) -> JsonResponse:
    """422 listing each invalid field; 400 when the body is not JSON at all."""
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type only
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return JsonResponse({"error": "malformed JSON body", "fields": []}, status_code=400)
    fields = [
        {"field": field_name(error.get("loc", ())), "message": str(error.get("msg", "invalid"))}
        for error in errors
    ]
    summary = ", ".join(f["field"] for f in fields)
    return JsonResponse({"error": f"invalid request: {summary}", "fields": fields}, 422)


async def on_invalid_field(_: Request, exc: Exception) -> JsonResponse:
    """422 for a field that breaks a configured limit."""
    assert isinstance(exc, InvalidFieldError)  # noqa: S101 - registered for this type only
    return JsonResponse(
        {
            "error": f"invalid request: {exc.field}",
            "fields": [{"field": exc.field, "message": exc.message}],
        },
        status_code=422,
    )
