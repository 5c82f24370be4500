"""The schema validators built once (``service.reports.validator``) judge every input exactly as
stix2-validator does as shipped: the same errors, the same warnings, the same exceptions, on the
official samples, the demo reports, and a spread of broken copies of each."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from service.reports import validator
from service.reports.validator import ValidationOptions, validate_instance
from tests.service.test_stix import DEMO_DIR, SAMPLE_DIRS, STIX_DIR

Mutation = Callable[[dict[str, Any]], None]


def _judge(instance: Any) -> tuple[Any, ...]:
    options = ValidationOptions(version="2.1", strict=False, silent=True)
    try:
        result = validate_instance(instance, options)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    return (result.is_valid, [str(e) for e in result.errors], [str(w) for w in result.warnings])


def _as_shipped(instance: Any) -> tuple[Any, ...]:
    validator.uninstall()
    try:
        return _judge(copy.deepcopy(instance))
    finally:
        validator.install()


def _objects(instance: dict[str, Any]) -> list[dict[str, Any]]:
    objects = instance.get("objects")
    return objects if isinstance(objects, list) else [instance]


def _mutations() -> Iterator[tuple[str, Mutation]]:
    def on_each(name: str, change: Callable[[dict[str, Any]], None]) -> tuple[str, Mutation]:
        return name, lambda instance: [change(obj) for obj in _objects(instance)]

    yield on_each("no-created", lambda o: o.pop("created", None))
    yield on_each("no-spec-version", lambda o: o.pop("spec_version", None))
    yield on_each("bad-modified", lambda o: o.__setitem__("modified", "2016-13-45T99:00:00Z"))
    yield on_each("id-of-other-type", lambda o: o.__setitem__("id", "x--" + o["id"][-36:]))
    yield on_each("name-is-number", lambda o: o.__setitem__("name", 5) if "name" in o else None)
    yield on_each("unknown-property", lambda o: o.__setitem__("Bad Property!", True))
    yield on_each("labels-not-list", lambda o: o.__setitem__("labels", "nope"))
    yield on_each("refs-bad", lambda o: o.__setitem__("object_marking_refs", ["marking--1"]))
    yield on_each("extref-empty", lambda o: o.__setitem__("external_references", [{}]))
    yield on_each("type-upper", lambda o: o.__setitem__("type", o["type"].upper()))


def _inputs() -> Iterator[Any]:
    paths = sorted(p for d in SAMPLE_DIRS for p in (STIX_DIR / d).glob("*.json"))
    paths += sorted(DEMO_DIR.glob("*.json"))
    assert len(paths) > 15, "the official samples are read from ../shared/stix"
    for path in paths:
        original = json.loads(Path(path).read_text())
        yield pytest.param(original, id=path.name)
        for name, mutate in _mutations():
            broken = copy.deepcopy(original)
            mutate(broken)
            yield pytest.param(broken, id=f"{path.name}-{name}")


@pytest.mark.parametrize("instance", list(_inputs()))
def test_built_once_judges_as_the_library_does(instance):
    assert _judge(copy.deepcopy(instance)) == _as_shipped(instance)


def test_the_comparison_can_tell_a_difference():
    """Uninstalling really gives the library its own functions back, and a changed verdict
    would show (a validator that skipped the schemas accepts what the library refuses)."""
    from stix2validator import validator as library

    validator.uninstall()
    assert library.load_validator is validator.SHIPPED_LOAD_VALIDATOR
    validator.install()
    assert library.load_validator is validator.load_validator
    bundle = json.loads(next(iter(sorted(DEMO_DIR.glob("*.json")))).read_text())
    bundle["objects"][0].pop("created", None)
    bundle["objects"][0]["type"] = "identity"
    refused = _judge(copy.deepcopy(bundle))

    class Permissive:
        def iter_errors(self, instance: Any) -> Iterator[Any]:
            return iter(())

    library.load_validator = lambda *args: Permissive()
    try:
        assert _judge(copy.deepcopy(bundle)) != refused
    finally:
        validator.install()


def test_validators_are_built_once_per_schema():
    bundle = json.loads(next(iter(sorted(DEMO_DIR.glob("*.json")))).read_text())
    _judge(bundle)
    built = dict(validator._validators)
    _judge(copy.deepcopy(bundle))
    assert validator._validators == built and built


def test_validators_shared_by_threads_judge_alike():
    """The node validates in a pool of threads: the shared validators give every thread the
    verdict one thread alone gets."""
    from concurrent.futures import ThreadPoolExecutor

    inputs = [p.values[0] for p in list(_inputs())[:60]]
    alone = [_judge(copy.deepcopy(i)) for i in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda i: _judge(copy.deepcopy(i)), inputs * 4))
    assert together == alone * 4
