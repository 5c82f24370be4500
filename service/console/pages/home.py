"""The console's front door: each role lands on its own first page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from service.console.deps import PageUser

router = APIRouter(prefix="/console")

LANDING = {
    "officer": "/console/reports",
    "releaser": "/console/reports",
    "auditor": "/console/audit",
    "admin": "/console/admin/partners",
}


@router.get("/")
def home(user: PageUser) -> RedirectResponse:
    return RedirectResponse(LANDING[user.principal.role], status_code=303)


@router.get("", include_in_schema=False)
def bare() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=308)
