"""The reference side of ``bench.taxii_bench``: medallion, the OASIS TAXII 2.1 server, in its own
virtualenv and its own process.

Nothing here imports medallion: it runs in ``.bench-envs/medallion`` (a venv of its own, made by
``ensure_medallion_env``) as ``python -m medallion.scripts.run``, and this module only writes its
two JSON files and speaks HTTP to it. The formats are those of medallion 3.0.0 (oasis-open/
cti-taxii-server, tag v3.0.0; the same code as the PyPI wheel):

* the **config** file (``medallion/test/data/config.json``, ``medallion/__init__.py``
  ``set_config``): ``backend`` (``module``, ``module_class`` and the backend's keyword arguments:
  the memory backend takes ``filename``, ``session_timeout`` and ``check_interval``), ``users``
  (user name -> plain-text password, checked by Flask-HTTPAuth's HTTP Basic) and ``taxii``
  (``max_page_size``: a larger ``limit`` is lowered to it);
* the **memory backend's data** file (``medallion/test/data/default_data.json``,
  ``medallion/backends/memory_backend.py``): ``"/discovery"`` plus one key per API root, each with
  ``information``, ``status`` and ``collections``; a collection holds its ``objects`` and their
  ``manifest`` (``id``, ``date_added``, ``version``, ``media_type``). medallion keeps no
  ``date_added`` on an object: it matches an object to its manifest entry by ``id`` and version
  (``modified``, else ``created``, else the hidden ``_date_added`` it stores on an SCO, which has
  neither), and its own POST stamps ``date_added`` with ``datetime_to_string(request_time)``
  (microseconds, ``%Y-%m-%dT%H:%M:%S.%fZ``); the file written here does the same.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ENV = REPO / ".bench-envs" / "medallion"
MEDALLION_REQUIREMENT = "medallion==3.0.0"
TAXII_ACCEPT = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
API_ROOT = "bench"  # sorts after "/discovery": medallion's _get walks the data in key order
COLLECTION_ID = "c5f2b0aa-1d4e-4c1b-9b3a-5e0f7d2c9a11"
USER = "bench"
SESSION_TIMEOUT_S = 900  # medallion's default is 30 s, less than a walk to the middle can take


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def ensure_medallion_env(path: Path = DEFAULT_ENV) -> Path:
    """The python of a venv at ``path`` holding medallion, made (``python -m venv`` and ``pip
    install medallion==3.0.0``) if it is not there yet. The venv is the bench's alone: the
    project never imports medallion. A ``.gitignore`` of ``*`` in it (what ``venv`` writes from
    Python 3.13 on) keeps git from seeing it."""
    python = path / "bin" / "python"
    probe = [str(python), "-c", "import medallion.scripts.run"]
    if not (python.exists() and subprocess.run(probe, capture_output=True).returncode == 0):
        say(f"making the medallion venv at {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", MEDALLION_REQUIREMENT], check=True
        )
        subprocess.run(probe, check=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# made by bench.taxii_medallion\n*\n")
    return python


def medallion_version(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('medallion'))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_sco(obj: dict[str, Any]) -> bool:
    """A STIX object with neither ``created`` nor ``modified`` (medallion's own test)."""
    return "created" not in obj and "modified" not in obj


def memory_backend_data(
    objects: Sequence[dict[str, Any]], date_added: Sequence[str], base_url: str
) -> dict[str, Any]:
    """medallion's memory-backend document: one API root with one readable collection holding
    ``objects``, object ``i`` added at ``date_added[i]`` (its manifest entry)."""
    stored: list[dict[str, Any]] = []
    manifest: list[dict[str, str]] = []
    for obj, added in zip(objects, date_added, strict=True):
        if is_sco(obj):
            obj = {**obj, "_date_added": added}  # what medallion's add_objects stores on an SCO
            version = added
        else:
            version = str(obj.get("modified", obj.get("created")))
        stored.append(obj)
        manifest.append(
            {
                "id": obj["id"],
                "date_added": added,
                "version": version,
                "media_type": STIX_MEDIA_TYPE,
            }
        )
    return {
        "/discovery": {
            "title": "liaison TAXII bench: medallion",
            "description": "Fictional STIX 2.1 content for a paging benchmark",
            "contact": "nobody@bench.example",
            "default": f"{base_url}/{API_ROOT}/",
            "api_roots": [f"{base_url}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "Bench API root",
                "description": "One collection of generated objects",
                "versions": [TAXII_ACCEPT],
                "max_content_length": 104857600,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION_ID,
                    "title": "Bench collection",
                    "description": "Generated fictional indicators, identities, malware, "
                    "relationships and ipv4-addr objects, all TLP:GREEN",
                    "can_read": True,
                    "can_write": False,
                    "media_types": [STIX_MEDIA_TYPE],
                    "objects": stored,
                    "manifest": manifest,
                }
            ],
        },
    }


@dataclass
class MedallionServer:
    """A medallion process serving the bench collection, and what its start cost."""

    process: subprocess.Popen[bytes]
    base_url: str
    auth: tuple[str, str]
    workdir: Path
    data_bytes: int
    write_s: float
    load_s: float = 0.0
    """Process start to its first answer of ``/taxii2/``: Python and Flask start-up plus
    ``json.load`` of the data file (the memory backend reads it whole, at start)."""
    log: Path = field(default_factory=Path)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def objects_url(self) -> str:
        return f"{self.base_url}/{API_ROOT}/collections/{COLLECTION_ID}/objects/"

    def log_tail(self, lines: int = 20) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_medallion(
    python: Path,
    objects: Sequence[dict[str, Any]],
    port: int,
    *,
    date_added: Sequence[str],
    workdir: Path,
    max_page_size: int = 100,
    session_timeout_s: int = SESSION_TIMEOUT_S,
    load_timeout_s: float = 600.0,
) -> MedallionServer:
    """Write medallion's data and config files into ``workdir`` and start its server (the Flask
    development server, threaded, as ``medallion`` runs it) on 127.0.0.1:``port`` in its venv;
    return once ``GET /taxii2/`` answers 200, having timed that as ``load_s``.

    Raises:
        RuntimeError: the process ended, or did not answer within ``load_timeout_s``.
    """
    base_url = f"http://127.0.0.1:{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    data_file = workdir / "medallion-data.json"
    started = time.perf_counter()
    with data_file.open("w", encoding="utf-8") as out:
        json.dump(memory_backend_data(objects, date_added, base_url), out, separators=(",", ":"))
    write_s = time.perf_counter() - started
    password = secrets.token_urlsafe(18)
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(data_file),
            "session_timeout": session_timeout_s,
            "check_interval": 10,
        },
        "users": {USER: password},
        "taxii": {"max_page_size": max_page_size},
    }
    config_file = workdir / "medallion-config.json"
    config_file.write_text(json.dumps(config, indent=2))
    config_file.chmod(0o600)
    log = workdir / "medallion.log"
    started = time.perf_counter()
    command = [
        str(python),
        "-m",
        "medallion.scripts.run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "WARN",
        str(config_file),
    ]
    with log.open("wb") as log_out:
        process = subprocess.Popen(command, stdout=log_out, stderr=subprocess.STDOUT, cwd=workdir)
    server = MedallionServer(
        process, base_url, (USER, password), workdir, data_file.stat().st_size, write_s, log=log
    )
    deadline = time.monotonic() + load_timeout_s
    with httpx.Client(auth=server.auth, headers={"Accept": TAXII_ACCEPT}, timeout=5) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"medallion exited with {process.returncode}:\n{server.log_tail()}"
                )
            with suppress(httpx.TransportError):
                if client.get(f"{base_url}/taxii2/").status_code == 200:
                    break
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"medallion did not answer within {load_timeout_s:.0f} s")
            time.sleep(0.05)
    server.load_s = time.perf_counter() - started
    return server
