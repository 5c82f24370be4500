"""The shape of the code, checked: what ``make lint``'s import contracts (``lint-imports``, in
pyproject.toml) cannot see.

* No import inside a function body in ``service/``: an import hidden there to dodge a cycle is a
  cycle nonetheless (the local-admin package of ``clients`` imports the server lazily on purpose,
  and ``tests/clients`` checks it).
* No module imports a name from its own package's ``__init__``: the package imports its modules,
  so that would be a cycle the sibling contract does not see.
* Each package's surface is its ``__all__``, and every name listed there exists.
* Every route declares what it answers, so the OpenAPI document describes the whole API.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import tomllib
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tests.conftest import ROOT

SERVICE = ROOT / "service"
DOMAINS = ("audit", "identity", "federation", "reports", "exchange", "api", "console", "taxii",
           "imports", "drafts")  # fmt: skip


def _modules(package: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _function_imports(tree: ast.AST) -> Iterator[ast.stmt]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def test_no_import_inside_a_function_in_service():
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for _, path in _modules(SERVICE)
        for node in _function_imports(ast.parse(path.read_text()))
    ]
    assert found == [], "imports inside functions (move them to the top, or fix the cycle)"


def test_the_check_for_function_imports_can_fail():
    tree = ast.parse("def f():\n    from service import db\n")
    assert len(list(_function_imports(tree))) == 1


def _own_package_names(module: str, path: Path) -> list[str]:
    """Names a module of a package imports from that package's ``__init__`` (not submodules)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    if path.name == "__init__.py":
        return []
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == package:
            for alias in node.names:
                submodule = ROOT.joinpath(*package.split("."), alias.name)
                if not (submodule.with_suffix(".py").exists() or submodule.is_dir()):
                    found.append(f"{module}: from {package} import {alias.name}")
    return found


def test_no_module_imports_from_its_own_package_surface():
    found = [
        name for module, path in _modules(SERVICE) for name in _own_package_names(module, path)
    ]
    assert found == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_package_surface_is_its_all(domain):
    package = importlib.import_module(f"service.{domain}")
    assert package.__doc__, f"service.{domain} says what it holds"
    names = package.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n)) or names == sorted(names)
    missing = [name for name in names if not hasattr(package, name)]
    assert missing == []


def test_the_layout_is_one_folder_per_domain():
    """Infrastructure flat at the top, one package per domain, nothing else."""
    top = {p.stem for p in SERVICE.glob("*.py")} - {"__init__"}
    assert top == {"app", "bootstrap", "keyfile", "node", "settings", "db", "errors", "auth",
                   "keyring", "migrate"}  # fmt: skip
    packages = {p.name for p in SERVICE.iterdir() if (p / "__init__.py").exists()}
    # Two infrastructure packages: the tables (one module per domain), and content at rest
    # (its keys and format, and the background re-seal after a rotation).
    assert packages == {*DOMAINS, "models", "atrest"}


def test_modules_stay_small():
    """One concept per module, a few hundred lines at most (stix.py holds the TLP rules whole)."""
    long = {
        str(path.relative_to(ROOT)): n
        for _, path in _modules(SERVICE)
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert long == {}


def _described(model: object) -> bool:
    """A response model that says what the answer holds: pydantic models, dataclasses, lists of
    them, unions of them; not ``dict``, ``Any`` or a bare JSON value."""
    if isinstance(model, type) and (
        issubclass(model, BaseModel) or dataclasses.is_dataclass(model)
    ):
        return True
    args = typing.get_args(model)
    if typing.get_origin(model) in (list, types.UnionType, typing.Union) and args:
        return all(_described(arg) for arg in args)
    return False


def test_a_bare_dict_is_not_a_description():
    assert not _described(dict[str, typing.Any])
    assert not _described(typing.Any)
    assert not _described(list[dict[str, typing.Any]])
    assert _described(list[BaseModel])


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_route_declares_what_it_answers(nodes):
    iq, _ = nodes
    app = iq.app
    undeclared = [
        f"{sorted(route.methods)} {route.path}"
        for route in app.routes
        if isinstance(route, APIRoute)
        and not _described(route.response_model)
        and not (route.response_model is None and any(200 <= int(c) < 300 for c in route.responses))
    ]
    assert undeclared == []
    document = app.openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ok = [c for c in operation["responses"] if c.startswith("2")]
            assert ok, f"{method.upper()} {path} documents no success answer"


@pytest.mark.parametrize(
    "domain", [d for d in DOMAINS if d not in ("api", "console")]
)  # HTTP: no importer
def test_every_module_of_a_domain_is_either_its_surface_or_protected(domain):
    """pyproject.toml's import contracts name each package's private modules: a new module must
    be added there, or exported in ``__all__``, so that nothing is reachable by accident."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    protected = {
        module
        for contract in contracts
        if contract["type"] == "protected"
        and contract["allowed_importers"] == [f"service.{domain}"]
        for module in contract["protected_modules"]
    }
    package = importlib.import_module(f"service.{domain}")
    exported = {f"service.{domain}.{name}" for name in package.__all__}
    modules = {
        f"service.{domain}.{path.stem}"
        for path in (SERVICE / domain).glob("*.py")
        if path.stem != "__init__"
    }
    assert modules - protected - exported == set(), "neither exported nor protected"
    assert protected <= modules, "the contract names a module that does not exist"
