"""Node administration on the node's own machine, acting on its data dir rather than over HTTP.

This is the one package of ``clients`` that imports ``service`` (and ``crypto``, ``policies``),
and it does so only inside its functions, so the officer commands never load the server. The
exception exists because some steps cannot go through the API: ``node init`` creates the node
that would serve it; the first administrator has nobody to log in as, so ``user add --data-dir``
writes the user from the console; ``serve`` *is* the node; ``node fingerprint`` reads the key file
that proves identity.

    :mod:`.node`      node init, node fingerprint, node rotate-keys, the policies a node loads
    :mod:`.console`   user add and partner add from the console
    :mod:`.server`    serve
    :mod:`.boundary`  the server side's errors translated; a data dir opened as a node

Every function raises only :mod:`clients.errors`: service, crypto, settings, database and httpx
errors are translated at this boundary (:func:`.boundary.translated`), with ``raise ... from exc``.
"""

from clients.local.console import add_partner, add_user, fetch_key_document
from clients.local.node import (
    change_data_keys,
    change_passphrase,
    fingerprint,
    init,
    missing_policy,
    new_identity,
    rotate_keys,
    rotate_token_key,
)
from clients.local.server import serve

__all__ = [
    "add_partner",
    "add_user",
    "change_data_keys",
    "change_passphrase",
    "fetch_key_document",
    "fingerprint",
    "init",
    "missing_policy",
    "new_identity",
    "rotate_keys",
    "rotate_token_key",
    "serve",
]
