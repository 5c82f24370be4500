"""Encryption of stored content with the node's data keys, and their rotation.

``keys``: the data keys kept in the key file, by generation, and the sealed format.
``reseal``: the background job that moves every stored value to the newest generation after a
rotation, so that the older keys can then be retired from the key file.
"""

from service.atrest.keys import (
    SECRET_NAME,
    AtRestCorrupted,
    DataKey,
    DataKeyring,
    data_key_secret_name,
    data_keys_in,
)
from service.atrest.reseal import (
    RESEAL_STATE,
    Progress,
    Resealer,
    SealedColumn,
    generations_in_use,
    reseal_batch,
)

__all__ = [
    "RESEAL_STATE",
    "SECRET_NAME",
    "AtRestCorrupted",
    "DataKey",
    "DataKeyring",
    "Progress",
    "Resealer",
    "SealedColumn",
    "data_key_secret_name",
    "data_keys_in",
    "generations_in_use",
    "reseal_batch",
]
