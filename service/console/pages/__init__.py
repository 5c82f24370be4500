"""The console's pages, one module per area: ``auth`` (log in and out, language), ``home``,
``officer`` (reports, the inbox, quarantine), ``releases`` (the two-person rule), ``auditor``
(the log, proofs, verification) and ``admin`` (partners, users, the node)."""

from service.console.pages import admin, auditor, auth, home, officer, releases

ROUTERS = (auth.router, home.router, officer.router, releases.router, auditor.router, admin.router)

__all__ = ["ROUTERS"]
