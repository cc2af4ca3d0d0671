"""Starling executables: where they are, how to write their TOML configs, how to start them."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .ports import LOOPBACK, free_port
from .process import Process, ProcessRegistry

REPO_ROOT = Path(__file__).resolve().parents[2]


def bin_dir() -> Path:
    """Directory holding the Starling executables: $STARLING_BIN_DIR or <repo>/target/debug."""
    env = os.environ.get("STARLING_BIN_DIR")
    return Path(env) if env else REPO_ROOT / "target" / "debug"


def starling_bin(name: str) -> Path:
    return bin_dir() / name


# -- minimal TOML writer ---------------------------------------------------------------------
# Enough for our configs: strings, booleans, integers, floats, arrays of scalars, tables, and
# arrays of tables ([[filters]]). Key order is kept.

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as a TOML value")


def _is_table(v: Any) -> bool:
    return isinstance(v, Mapping)


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) > 0 and all(isinstance(x, Mapping) for x in v)


def _emit(table: Mapping[str, Any], path: list[str], out: list[str]) -> None:
    for k, v in table.items():
        if not _is_table(v) and not _is_table_array(v):
            out.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if _is_table(v):
            has_values = not v or any(not _is_table(x) and not _is_table_array(x) for x in v.values())
            if has_values:  # a table holding only sub-tables needs no header of its own
                out.append("")
                out.append("[" + ".".join(_key(p) for p in path + [k]) + "]")
            _emit(v, path + [k], out)
        elif _is_table_array(v):
            for item in v:
                out.append("")
                out.append("[[" + ".".join(_key(p) for p in path + [k]) + "]]")
                _emit(item, path + [k], out)


def to_toml(data: Mapping[str, Any]) -> str:
    out: list[str] = []
    _emit(data, [], out)
    return "\n".join(out).lstrip("\n") + "\n"


# -- starling-router -------------------------------------------------------------------------


@dataclass
class RouterHandle:
    process: Process
    host: str
    port: int
    config_path: Path

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)


def start_router(
    workdir: Path,
    registry: ProcessRegistry,
    config: Mapping[str, Any] | str,
    *,
    name: str = "starling-router",
    env: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> RouterHandle:
    """Write router.toml into `workdir` and start `starling-router --config router.toml`.

    `config` is a dict (written as TOML; `listen` is filled in with a free loopback port unless
    given) or the TOML text itself (which must contain a `listen` with a loopback port).
    Returns when the listen port accepts TCP.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if isinstance(config, str):
        text = config
        m = re.search(r"^\s*listen\s*=\s*\[\s*\"([0-9.]+):(\d+)\"", text, re.M)
        if not m:
            raise ValueError("router config text must set listen = [\"127.0.0.1:PORT\"]")
        host, port = m.group(1), int(m.group(2))
    else:
        cfg = dict(config)
        if "listen" not in cfg:
            cfg = {"listen": [f"{LOOPBACK}:{free_port()}"], **cfg}
        host, port_s = cfg["listen"][0].rsplit(":", 1)
        port = int(port_s)
        text = to_toml(cfg)
    config_path = workdir / f"{name}.toml"
    config_path.write_text(text)

    exe = starling_bin("starling-router")
    if not exe.exists():
        raise AssertionError(
            f"{exe} does not exist: build it with `cargo build --workspace --bins` "
            f"(or point STARLING_BIN_DIR at the directory holding it)"
        )
    env = {"RUST_LOG": os.environ.get("RUST_LOG", "debug"), "RUST_BACKTRACE": "1", **(env or {})}
    proc = registry.add(Process(name, [exe, "--config", config_path], workdir, env=env))
    proc.start()
    proc.wait_for_port(port, host, timeout=timeout)
    return RouterHandle(proc, host, port, config_path)


# -- any Starling daemon ---------------------------------------------------------------------


@dataclass
class DaemonHandle:
    process: Process
    config_path: Path


def start_daemon(
    workdir: Path,
    registry: ProcessRegistry,
    executable: str,
    config: Mapping[str, Any] | str,
    *,
    name: str | None = None,
    ready_port: tuple[str, int] | None = None,
    ready_log: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> DaemonHandle:
    """Write `<name>.toml` into `workdir` and start `<executable> --config <name>.toml`.

    Ready when `ready_port` accepts TCP and/or a log line matches `ready_log` (a regex), e.g. the
    sm's "online at the router".
    """
    name = name or executable
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    text = config if isinstance(config, str) else to_toml(config)
    config_path = workdir / f"{name}.toml"
    config_path.write_text(text)
    exe = starling_bin(executable)
    if not exe.exists():
        raise AssertionError(f"{exe} does not exist: build it with `cargo build --workspace --bins`")
    env = {"RUST_LOG": os.environ.get("RUST_LOG", "debug"), "RUST_BACKTRACE": "1", **(env or {})}
    proc = registry.add(Process(name, [exe, "--config", config_path], workdir, env=env))
    proc.start()
    if ready_port is not None:
        proc.wait_for_port(ready_port[1], ready_port[0], timeout=timeout)
    if ready_log is not None:
        proc.wait_for_log(ready_log, timeout=timeout)
    return DaemonHandle(proc, config_path)
