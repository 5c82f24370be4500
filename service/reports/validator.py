"""stix2-validator 3.3.2, its schema validators built once per schema instead of once per object.

For every object it checks, the library parses the object type's schema file again and builds a
new JSON-schema validator over a registry that holds that one schema; every ``$ref`` to a shared
definition (``common/core.json`` and the rest) is then retrieved and the whole registry crawled
again, on every lookup. That was two thirds of the time a report took to validate. Here the very
same validators are built, once per schema and reused: the library's ``STIXValidator`` class,
its patched schemas, its format checker and its own retrieval of its schema files, over a registry
that already holds (and has crawled) every schema file the library ships, with the library's
retrieval still behind it for anything else. Nothing else changes: the library still decides
which schemas apply to which object, and runs all its MUST and SHOULD checks itself.

The library's version is pinned (``pyproject.toml``); this module refuses to load with any other
(the functions it replaces are internal), and ``tests/service/test_stix.py`` checks that every
sample gets the same errors and warnings with and without it.
"""

from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path
from typing import Any

# jsonschema imports rfc3987_syntax, which builds a grammar for 1.9 s at every process start,
# only to check the "iri" and "iri-reference" formats; no STIX schema of stix2-validator uses
# them (checked: none of its schema files names either). Without it jsonschema leaves those two
# formats unchecked, and every start of a node or a console command is that much faster.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import stix2validator  # noqa: E402
from referencing import Registry  # noqa: E402
from referencing.jsonschema import DRAFT202012  # noqa: E402
from stix2validator import (  # noqa: E402
    ValidationOptions,
    errors,
    validate_instance,
)
from stix2validator import validator as library  # noqa: E402

__all__ = ["ValidationOptions", "errors", "install", "uninstall", "validate_instance"]

LIBRARY_VERSION = "3.3.2"
if stix2validator.__version__ != LIBRARY_VERSION:  # pragma: no cover - the pin prevents it
    raise ImportError(
        f"service.reports.validator is written for stix2-validator {LIBRARY_VERSION}, "
        f"not {stix2validator.__version__}"
    )

SHIPPED_LOAD_SCHEMA = library.load_schema
SHIPPED_LOAD_VALIDATOR = library.load_validator

_lock = threading.Lock()
_schemas: dict[str, Any] = {}
_registries: dict[str, Registry[Any]] = {}
_validators: dict[tuple[str, str], Any] = {}


def load_schema(schema_path: str) -> Any:
    """The library's ``load_schema``, parsed once per file. The library then edits the bundle
    and observed-data schemas in place, the same edit every time, before building a validator
    (which it takes, already patched, from its own cache anyway)."""
    schema = _schemas.get(schema_path)
    if schema is None:
        with _lock:
            schema = _schemas.get(schema_path)
            if schema is None:
                schema = _schemas[schema_path] = SHIPPED_LOAD_SCHEMA(schema_path)
    return schema


def _registry(schema_dir: str) -> Registry[Any]:
    """Every schema file under ``schema_dir`` (as the library's ``find_schema`` sees them: not
    its examples), each loaded by the library's own retrieval under the URI its references
    resolve to, crawled once; the library's retrieval stays behind it for anything else."""
    registry = _registries.get(schema_dir)
    if registry is None:
        retrieve = functools.partial(library.retrieve_from_filesystem, schema_dir=schema_dir)
        resources = [
            (uri, retrieve(uri))
            for path in sorted(Path(schema_dir).rglob("*.json"))
            if "examples" not in path.parts
            for uri in (path.as_uri(),)
        ]
        registry = Registry(retrieve=retrieve).with_resources(resources).crawl()  # type: ignore[call-arg]
        _registries[schema_dir] = registry
    return registry


def load_validator(schema_path: str, schema: Any, schema_dir: str) -> Any:
    """The library's ``load_validator``, built once per schema over the whole registry."""
    key = (schema_path, schema_dir)
    validator = _validators.get(key)
    if validator is None:
        with _lock:
            validator = _validators.get(key)
            if validator is None:
                patched = library._PATCHED_SCHEMAS.get(schema_path)
                if patched is None:
                    patched = library._PATCHED_SCHEMAS[schema_path] = library.patch_schema(
                        schema, schema_path
                    )
                registry = (
                    _registry(schema_dir)
                    .with_resource(schema_path, DRAFT202012.create_resource(patched))
                    .crawl()
                )
                validator = library.STIXValidator(
                    patched,
                    registry=registry,
                    format_checker=library.Draft202012Validator.FORMAT_CHECKER,
                )
                _validators[key] = validator
    return validator


def install() -> None:
    """Make the library use the validators built once (idempotent)."""
    library.load_schema = load_schema
    library.load_validator = load_validator


def uninstall() -> None:
    """Give the library its own functions back (tests compare the two)."""
    library.load_schema = SHIPPED_LOAD_SCHEMA
    library.load_validator = SHIPPED_LOAD_VALIDATOR
