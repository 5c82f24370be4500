"""The console's pages, one module per area: ``auth`` (log in and out, language), ``home``,
``officer`` (reports, the inbox, quarantine), ``drafts`` (uploads and drafts to review),
``releases`` (the two-person rule), ``auditor`` (the log, proofs, verification) and ``admin``
(partners, users, the node)."""

from service.console.pages import admin, auditor, auth, drafts, home, officer, releases

# drafts before officer: /console/reports/upload must not be taken for a report id.
ROUTERS = (auth.router, home.router, drafts.router, officer.router, releases.router, auditor.router,
           admin.router)  # fmt: skip

__all__ = ["ROUTERS"]
