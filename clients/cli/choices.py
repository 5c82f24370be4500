"""The names the CLI offers as choices, each the client's copy of a server enum's values.

The client does not import the server, so these are written out here, where a test can tie each to
the enum it copies (a state added on the server must not go missing from ``--state``).
"""

from __future__ import annotations

ROLES = ("officer", "releaser", "auditor", "admin")
"""``user add --role``: a user's role."""
CLEARANCES = ("clear", "green", "amber", "amber+strict", "red")
"""``user add --clearance``: the TLP levels, lowest first."""
RELEASE_STATES = ("queued", "sent", "acknowledged", "refused", "held", "withheld")
"""``release list --state``: where an outbound release stands."""
INBOUND_STATUSES = ("accepted", "quarantined", "rejected")
"""``inbox --status``: what became of a report received from a partner."""
