"""Debian's jabberd2 (router, sm, c2s) as test peers.

Configs are rendered from the templates in tests/jabberd2/ (string.Template, `$name`
placeholders) into the test's directory: everything on 127.0.0.1 with allocated ports, logs to
stdout (captured by `Process`), pid files in the test directory, SQLite storage and authreg in a
database created from jabberd2's own schema, in-band registration enabled, plaintext SASL allowed.
"""

from __future__ import annotations

import glob
import gzip
import os
import sqlite3
import string
from pathlib import Path
from typing import Mapping

from .ports import LOOPBACK, free_port
from .process import Process, ProcessRegistry
from .rawxmpp import wait_c2s_ready

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "jabberd2"
SBIN = Path(os.environ.get("JABBERD2_SBIN", "/usr/sbin"))
SCHEMA_CANDIDATES = [
    "/usr/share/doc/jabberd2/db-setup.sqlite",
    "/usr/share/doc/jabberd2/db-setup.sqlite.gz",
    "/usr/share/jabberd2/db-setup.sqlite",
    "/usr/share/jabberd2/db-setup.sqlite.gz",
]


def module_path() -> str | None:
    for cand in sorted(glob.glob("/usr/lib/*/jabberd2")) + ["/usr/lib/jabberd2"]:
        if Path(cand, "authreg_sqlite.so").exists():
            return cand
    return None


def schema_path() -> Path | None:
    for cand in SCHEMA_CANDIDATES:
        if Path(cand).exists():
            return Path(cand)
    return None


def executable(daemon: str) -> Path:
    return SBIN / f"jabberd2-{daemon}"


def missing_reason() -> str | None:
    """Why jabberd2 cannot run here, or None when router, sm, c2s, modules and schema are present."""
    for d in ("router", "sm", "c2s"):
        if not executable(d).exists():
            return f"{executable(d)} not installed (apt-get install jabberd2)"
    if module_path() is None:
        return "jabberd2 modules (authreg_sqlite.so) not found"
    if schema_path() is None:
        return "jabberd2 SQLite schema (db-setup.sqlite) not found"
    return None


def create_sqlite_db(path: Path) -> None:
    """Create jabberd2's SQLite database (authreg + sm tables) at `path` from the packaged schema."""
    schema = schema_path()
    if schema is None:
        raise FileNotFoundError("jabberd2 SQLite schema not found")
    opener = gzip.open if schema.suffix == ".gz" else open
    with opener(schema, "rt") as f:
        script = f.read()
    db = sqlite3.connect(path)
    try:
        db.executescript(script)
        db.commit()
    finally:
        db.close()


def render(template: str, params: Mapping[str, object]) -> str:
    text = (TEMPLATE_DIR / template).read_text()
    return string.Template(text).substitute({k: str(v) for k, v in params.items()})


class Jabberd2:
    """One jabberd2 installation in a test directory: optional router, one sm, one c2s."""

    def __init__(
        self,
        workdir: Path,
        registry: ProcessRegistry,
        *,
        domain: str = "localhost",
        router_host: str = LOOPBACK,
        router_port: int | None = None,
        router_user: str = "jabberd",
        router_password: str = "jabberd-router-secret",
        c2s_port: int | None = None,
        component_secret: str = "jabberd2-component-secret",
        aliases: Mapping[str, str] | None = None,
        sm_id: str = "sm",
        c2s_id: str = "c2s",
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.registry = registry
        self.domain = domain
        self.router_host = router_host
        self.router_port = router_port or free_port()
        self.router_user = router_user
        self.router_password = router_password
        self.c2s_host = LOOPBACK
        self.c2s_port = c2s_port or free_port()
        self.component_secret = component_secret
        self.aliases = dict(aliases or {})
        self.sm_id = sm_id
        self.c2s_id = c2s_id
        self.db_path = self.workdir / "jabberd2.sqlite"
        self.router: Process | None = None
        self.sm: Process | None = None
        self.c2s: Process | None = None

    # -- configs ---------------------------------------------------------------------------

    def params(self, daemon: str) -> dict:
        return {
            "router_id": "router",
            "router_ip": self.router_host,
            "router_port": self.router_port,
            "router_user": self.router_user,
            "router_password": self.router_password,
            "users_file": self.workdir / "router-users.xml",
            "component_secret": self.component_secret,
            "aliases": "\n".join(
                f"    <alias name='{name}' target='{target}'/>" for name, target in self.aliases.items()
            ),
            "sm_id": self.sm_id,
            "c2s_id": self.c2s_id,
            "domain": self.domain,
            "module_path": module_path(),
            "db_path": self.db_path,
            "c2s_ip": self.c2s_host,
            "c2s_port": self.c2s_port,
            "pidfile": self.workdir / f"jabberd2-{daemon}.pid",
        }

    def write_config(self, daemon: str) -> Path:
        """Render tests/jabberd2/<daemon>.xml into the work directory (router also gets router-users.xml)."""
        p = self.params(daemon)
        if daemon == "router":
            (self.workdir / "router-users.xml").write_text(render("router-users.xml", p))
        out = self.workdir / f"jabberd2-{daemon}.xml"
        out.write_text(render(f"{daemon}.xml", p))
        return out

    def ensure_db(self) -> None:
        if not self.db_path.exists():
            create_sqlite_db(self.db_path)

    # -- daemons ---------------------------------------------------------------------------

    def _spawn(self, daemon: str) -> Process:
        cfg = self.write_config(daemon)
        proc = Process(f"jabberd2-{daemon}", [executable(daemon), "-c", cfg], self.workdir)
        self.registry.add(proc)
        return proc.start()

    def start_router(self, timeout: float = 15.0) -> Process:
        """jabberd2's own router (baseline runs)."""
        self.router = self._spawn("router")
        self.router.wait_for_port(self.router_port, self.router_host, timeout)
        return self.router

    def start_sm(self, timeout: float = 20.0) -> Process:
        """Start the sm and wait until it has authenticated and bound its names at the router."""
        self.ensure_db()
        self.sm = self._spawn("sm")
        self.sm.wait_for_log(r"ready for sessions", timeout)
        return self.sm

    def start_c2s(self, timeout: float = 20.0) -> Process:
        """Start c2s and wait until it serves the domain (bound at the router, sm seen online)."""
        self.ensure_db()
        self.c2s = self._spawn("c2s")
        # c2s listens only after its bind at the router succeeded.
        self.c2s.wait_for_port(self.c2s_port, self.c2s_host, timeout)
        wait_c2s_ready(self.c2s_host, self.c2s_port, self.domain, timeout)
        return self.c2s

    def start(self, with_router: bool = True, timeout: float = 20.0) -> "Jabberd2":
        if with_router:
            self.start_router(timeout)
        self.start_sm(timeout)
        self.start_c2s(timeout)
        return self
