"""MISP's STIX 2.1, as the ``misp-stix`` library exports it: how to recognise it, and its TLP tags.

From MISP/misp-stix (``misp_stix_converter/misp2stix/misp_to_stix2.py``, ``misp_to_stix21.py``,
``stix21_mapping.py``, ``misp_stix_mapping.py``, and the expected bundles of
``documentation/misp_events_to_stix21.md``):

* An event is a ``report`` (published) or a ``grouping`` named after the event's ``info``, created
  by the event's organisation (an ``identity``), labelled ``Threat-Report`` and
  ``misp:tool="MISP-STIX-Converter"``; attributes and objects carry ``misp:type=``,
  ``misp:category=``, ``misp:name=`` and ``misp:meta-category=`` labels, and what has no STIX
  property goes into ``x_misp_<field>`` custom properties (``x-misp-object``/``x-misp-attribute``
  custom objects for what has no STIX type).
* Tags become markings only where they are TLP. ``_handle_markings`` looks each tag up in
  ``tlp_markings`` (``tlp:white``, ``tlp:green``, ``tlp:amber``, ``tlp:red``: the STIX 2.1 built-in
  TLP 1.0 marking definitions, ``definition_type: "tlp"``, shipped in the bundle) and, since
  misp-stix 2026.6 (commit a7543029, "Supporting conversion of all TLP tags"), in
  ``TLP2MarkingDefinitions.by_tag_name`` (``tlp:clear``, ``tlp:amber+strict``: the official TLP 2.0
  definitions); every other tag, and before that version ``tlp:clear`` and ``tlp:amber+strict``
  too, is appended to ``labels``. No tag is ever a ``statement`` marking. The event's tags mark
  the report or grouping; an object's markings are its attributes' tags; the organisation's
  identity, the observables (SCOs) and the relationships misp-stix adds (``based-on``) carry
  none, so a MISP export is seldom marked throughout: the officer chooses (``mark_unmarked``).

So a MISP bundle's TLP is either a marking (which ``service.imports.markings`` maps like any other
TLP 1.0 or 2.0 id) or a label: :func:`tag_level` reads the labels. Only the taxonomy's spelling
counts (``tlp:amber``, exactly as misp-stix writes the tag); ``tlp:ex:chr``, ``tlp:unclear`` and
any other tag are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.tlp import TLP

__all__ = ["TLP_TAGS", "is_misp", "tag_level"]

TLP_TAGS: Mapping[str, TLP] = {
    "tlp:white": TLP.CLEAR,
    "tlp:clear": TLP.CLEAR,
    "tlp:green": TLP.GREEN,
    "tlp:amber": TLP.AMBER,
    "tlp:amber+strict": TLP.AMBER_STRICT,
    "tlp:red": TLP.RED,
}
"""The MISP ``tlp`` taxonomy's tags that name a TLP level, and the TLP 2.0 level of each."""


def is_misp(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` carries a mark misp-stix leaves: an ``x_misp_`` property, an ``x-misp-``
    custom type, or a ``misp:`` label."""
    if any(isinstance(key, str) and key.startswith("x_misp_") for key in obj):
        return True
    kind, labels = obj.get("type"), obj.get("labels")
    if isinstance(kind, str) and kind.startswith("x-misp-"):
        return True
    return isinstance(labels, list) and any(
        isinstance(label, str) and label.startswith("misp:") for label in labels
    )


def tag_level(label: object) -> TLP | None:
    """The TLP level a label names as a MISP ``tlp`` taxonomy tag, or None."""
    return TLP_TAGS.get(label) if isinstance(label, str) else None
