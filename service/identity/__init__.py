"""Who the node deals with: its users (officers, releasers, auditors, administrators) and its
partner nodes, pinned by fingerprint.

    users      accounts, logging in, the principal a request acts as
    accounts   an account over its life: disabled, enabled, a new password, role or clearance
    partners   pinning a partner, and the later key documents it publishes
    sessions   web console sessions, held on the server
    integrations  credentials of the home network's platforms for the TAXII surface
    keys       this node's own keys while it serves: the key file read again after a rotation
"""

from service.identity.accounts import (
    disable_user,
    enable_user,
    set_clearance,
    set_password,
    set_role,
)
from service.identity.integrations import (
    COLLECTIONS as INTEGRATION_COLLECTIONS,
)
from service.identity.integrations import (
    IntegrationPrincipal,
    authenticate_integration,
    create_integration,
    list_integrations,
    revoke_integration,
)
from service.identity.keys import DataKeyStatus, Reloaded, data_key_status, reload_keys
from service.identity.partners import (
    add_partner,
    get_partner,
    list_partners,
    pin_to,
    update_key_document,
    verified_document,
)
from service.identity.sessions import (
    ConsoleUser,
    OpenedSession,
    end_session,
    end_user_sessions,
    open_session,
    resume_session,
    set_language,
    touch_session,
)
from service.identity.users import (
    DEFAULT_CLEARANCE,
    FailedLogin,
    Principal,
    attempt_login,
    create_user,
    list_users,
    load_principal,
    login_delay,
    parse_clearance,
)

__all__ = [
    "DEFAULT_CLEARANCE",
    "INTEGRATION_COLLECTIONS",
    "ConsoleUser",
    "DataKeyStatus",
    "FailedLogin",
    "IntegrationPrincipal",
    "OpenedSession",
    "Principal",
    "Reloaded",
    "add_partner",
    "attempt_login",
    "authenticate_integration",
    "create_integration",
    "create_user",
    "data_key_status",
    "disable_user",
    "enable_user",
    "end_session",
    "end_user_sessions",
    "get_partner",
    "list_integrations",
    "list_partners",
    "list_users",
    "load_principal",
    "login_delay",
    "open_session",
    "parse_clearance",
    "pin_to",
    "reload_keys",
    "resume_session",
    "revoke_integration",
    "set_clearance",
    "set_language",
    "set_password",
    "set_role",
    "touch_session",
    "update_key_document",
    "verified_document",
]
