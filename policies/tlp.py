"""Traffic Light Protocol 2.0 levels and the STIX marking-definition ids that carry them.

This is the one definition of TLP in the project: ``service.stix`` (which validates submitted
reports) and the policy engine both use it, so the two can never disagree on what an id means.

* ``TLP`` is ordered by restrictiveness: ``TLP.CLEAR < TLP.GREEN < TLP.AMBER <
  TLP.AMBER_STRICT < TLP.RED``.
* ``TLP2_MARKING_IDS`` are the five TLP 2.0 well-known marking-definition ids
  (oasis-open/cti-stix-common-objects); their objects carry the TLP 2.0 extension
  ``TLP2_EXTENSION_ID`` with a ``tlp_2_0`` value equal to ``TLP.value``.
* ``TLP1_MARKING_IDS`` are the four STIX 2.1 built-in TLP 1.0 ids, mapped to TLP 2.0 levels
  (WHITE becomes CLEAR); ``TLP1_BUILTINS`` keeps their TLP 1.0 colour too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

__all__ = [
    "TLP",
    "TLP1_BUILTINS",
    "TLP1_MARKING_IDS",
    "TLP2_EXTENSION_ID",
    "TLP2_MARKING_IDS",
    "parse_tlp",
]

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
"""The STIX 2.1 extension definition of TLP 2.0 marking definitions."""


class TLP(Enum):
    """A Traffic Light Protocol 2.0 level, ordered from least to most restrictive.

    The value is the TLP 2.0 extension's ``tlp_2_0`` string. Members compare by restrictiveness
    (``TLP.GREEN < TLP.RED``) but never equal an int or a string, and every member is truthy.
    """

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @classmethod
    def from_label(cls, label: str) -> TLP:
        """The level of a TLP 2.0 label (``"TLP:AMBER+STRICT"``), the inverse of :attr:`label`.

        Raises:
            ValueError: not a TLP 2.0 label.
        """
        if not label.startswith("TLP:"):
            raise ValueError(f"{label!r} is not a TLP 2.0 label")
        value = label[4:]
        if value != value.upper():
            raise ValueError(f"{label!r} is not a TLP 2.0 label")
        return cls(value.lower())

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED."""
        return _RANK[self]

    @property
    def label(self) -> str:
        """The TLP 2.0 label, e.g. ``"TLP:AMBER+STRICT"``."""
        return "TLP:" + self.value.upper()

    @property
    def marking_id(self) -> str:
        """The TLP 2.0 well-known marking-definition id."""
        return _TLP2_ID_OF[self]

    @property
    def tlp1_marking_id(self) -> str | None:
        """The STIX 2.1 built-in TLP 1.0 id that maps to this level (None for AMBER+STRICT)."""
        return _TLP1_ID_OF.get(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, TLP):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, TLP):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, TLP):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, TLP):
            return NotImplemented
        return self.rank >= other.rank


_RANK = {level: rank for rank, level in enumerate(TLP)}

TLP2_MARKING_IDS: Mapping[str, TLP] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": TLP.CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": TLP.GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": TLP.AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": TLP.AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": TLP.RED,
}
"""The TLP 2.0 well-known marking-definition ids (oasis-open/cti-stix-common-objects)."""

TLP1_BUILTINS: Mapping[str, tuple[str, TLP]] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": ("white", TLP.CLEAR),
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": ("green", TLP.GREEN),
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": ("amber", TLP.AMBER),
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": ("red", TLP.RED),
}
"""The STIX 2.1 built-in TLP 1.0 ids with their TLP 1.0 colour and the TLP 2.0 level they map to."""

TLP1_MARKING_IDS: Mapping[str, TLP] = {mid: level for mid, (_, level) in TLP1_BUILTINS.items()}
"""The STIX 2.1 built-in TLP 1.0 ids, mapped to TLP 2.0 levels (WHITE becomes CLEAR)."""

_TLP2_ID_OF = {level: mid for mid, level in TLP2_MARKING_IDS.items()}
_TLP1_ID_OF = {level: mid for mid, level in TLP1_MARKING_IDS.items()}


def parse_tlp(value: str) -> TLP | None:
    """The level named by a TLP 2.0 value (``"amber+strict"``), or None if it names none.

    Only the exact lower-case ``tlp_2_0`` spellings are levels; labels (``"TLP:AMBER"``) and TLP 1.0
    colours (``"white"``) are not.
    """
    try:
        return TLP(value)
    except ValueError:
        return None
