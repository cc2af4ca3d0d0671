"""starlingctl: init, component add, and `up` supervising real processes.

Self-contained (subprocess, sockets, /proc). Every wait is bounded and polls for the condition it
needs; nothing sleeps in the hope that something has happened meanwhile.

The binaries are taken from $STARLING_BIN_DIR, else $CARGO_TARGET_DIR/debug, else target/debug.
Tests that need the real starling-router are skipped while it has not been built; the supervisor
itself is also tested against small stand-in daemons, so it is covered either way.
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(
    os.environ.get("STARLING_BIN_DIR")
    or Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "debug"
)
STARLINGCTL = BIN / "starlingctl"
ROUTER = BIN / "starling-router"
TEMPLATE = ROOT / "etc" / "router.toml"

needs_router = pytest.mark.skipif(
    not ROUTER.exists(), reason=f"{ROUTER} is not built yet"
)


@pytest.fixture(autouse=True)
def _starlingctl_built():
    if not STARLINGCTL.exists():
        pytest.fail(f"{STARLINGCTL} is missing: run `cargo build` first")


# --- helpers -------------------------------------------------------------------------------


def ctl(*args, cwd=None, env=None, timeout=30):
    return subprocess.run(
        [str(STARLINGCTL), *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def proc_state(pid):
    """The /proc state letter of pid, or None if there is no such process."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat_line.rsplit(")", 1)[1].split()[0]


def alive(pid):
    return proc_state(pid) not in (None, "Z", "X")


def children(pid):
    """Live child processes of pid, as {pid: command line}."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found[int(entry.name)] = b" ".join(cmdline).decode(errors="replace")
    return found


def child_running(ctl_pid, executable_name):
    """The pid of ctl_pid's child running executable_name, or None."""
    for pid, cmdline in children(ctl_pid).items():
        if executable_name in cmdline:
            return pid
    return None


def comment_lines(text):
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def init_etc(tmp_path, port=None, *extra):
    etc = tmp_path / "etc"
    result = ctl("init", "--domain", "example.test", "--dir", etc, *extra)
    assert result.returncode == 0, result.stderr
    if port is not None:
        # init always uses the standard port; tests must not collide with anything on 5347.
        path = etc / "router.toml"
        text = path.read_text()
        assert '"127.0.0.1:5347"' in text
        path.write_text(text.replace('"127.0.0.1:5347"', f'"127.0.0.1:{port}"'))
    return etc


class Up:
    """`starlingctl up` in the background, its output in files, always cleaned up."""

    def __init__(self, tmp_path, etc, executable=STARLINGCTL, env=None):
        self.out_path = tmp_path / "up.out"
        self.err_path = tmp_path / "up.err"
        self.process = subprocess.Popen(
            [str(executable), "up", "--etc", str(etc)],
            stdin=subprocess.DEVNULL,
            stdout=self.out_path.open("wb"),
            stderr=self.err_path.open("wb"),
            env=env,
        )
        self.pid = self.process.pid

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def wait_for_output(self, text, timeout):
        wait_until(
            lambda: text in self.stderr() or text in self.stdout(),
            timeout,
            f"{text!r} in starlingctl's output; stderr so far:\n{self.stderr()}",
        )

    def stop(self, timeout=25):
        """SIGTERM, then the exit code (bounded)."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            kids = list(children(self.pid))
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                for kid in kids:
                    if alive(kid):
                        os.kill(kid, signal.SIGKILL)


# --- init ----------------------------------------------------------------------------------


def test_init_writes_a_commented_router_toml(tmp_path):
    etc = init_etc(tmp_path, None, "--allow-registration")
    path = etc / "router.toml"
    text = path.read_text()
    config = tomllib.loads(text)
    assert config["listen"] == ["127.0.0.1:5347"]
    assert config["id"] == "router"
    # Every comment of the shipped file is there, in order.
    template_comments = comment_lines(TEMPLATE.read_text())
    assert template_comments
    assert [c for c in comment_lines(text) if c in template_comments] == template_comments
    # It will hold secrets: owner-only.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    v6 = ctl("init", "--domain", "example.test", "--listen", "::1", "--dir", tmp_path / "v6")
    assert v6.returncode == 0, v6.stderr
    assert tomllib.loads((tmp_path / "v6" / "router.toml").read_text())["listen"] == ["[::1]:5347"]


def test_init_refuses_to_overwrite(tmp_path):
    etc = init_etc(tmp_path)
    before = (etc / "router.toml").read_text()
    again = ctl("init", "--domain", "other.test", "--dir", etc)
    assert again.returncode == 1
    assert again.stderr.startswith("error: ")
    assert "router.toml" in again.stderr and "already exists" in again.stderr
    assert (etc / "router.toml").read_text() == before


def test_init_rejects_an_invalid_domain(tmp_path):
    for bad in ["not a domain", "user@example.test", ""]:
        result = ctl("init", "--domain", bad, "--dir", tmp_path / "etc")
        assert result.returncode == 1, bad
        assert "domain" in result.stderr
    assert not (tmp_path / "etc").exists()


# --- component add -------------------------------------------------------------------------


def test_component_add(tmp_path):
    etc = init_etc(tmp_path)
    path = etc / "router.toml"
    comments = comment_lines(path.read_text())

    added = ctl("component", "add", "muc.example.test", "--secret", "s3cret", "--etc", etc)
    assert added.returncode == 0, added.stderr
    assert "SIGHUP" in added.stdout
    text = path.read_text()
    config = tomllib.loads(text)
    assert config["components"]["muc.example.test"] == {"secret": "s3cret"}
    assert comment_lines(text) == comments

    # A duplicate fails and leaves the file alone.
    duplicate = ctl("component", "add", "muc.example.test", "--secret", "other", "--etc", etc)
    assert duplicate.returncode == 1
    assert "router.toml" in duplicate.stderr and "already exists" in duplicate.stderr
    assert path.read_text() == text

    # --force replaces the secret.
    forced = ctl("component", "add", "muc.example.test", "--secret", "new", "--force", "--etc", etc)
    assert forced.returncode == 0, forced.stderr
    assert tomllib.loads(path.read_text())["components"]["muc.example.test"] == {"secret": "new"}

    # Without --secret one is generated, printed and stored.
    generated = ctl("component", "add", "bot.example.test", "--etc", etc)
    assert generated.returncode == 0, generated.stderr
    config = tomllib.loads(path.read_text())
    secret = config["components"]["bot.example.test"]["secret"]
    assert len(secret) >= 32 and secret in generated.stdout
    assert comment_lines(path.read_text()) == comments


def test_component_add_errors(tmp_path):
    missing = ctl("component", "add", "muc.example.test", "--secret", "s", "--etc", tmp_path)
    assert missing.returncode == 1
    assert f"{tmp_path / 'router.toml'}: cannot read" in missing.stderr

    etc = init_etc(tmp_path)
    invalid = ctl("component", "add", "not a domain", "--secret", "s", "--etc", etc)
    assert invalid.returncode == 1
    assert "not a domain" in invalid.stderr

    (etc / "router.toml").write_text("id = \n")
    broken = ctl("component", "add", "muc.example.test", "--secret", "s", "--etc", etc)
    assert broken.returncode == 1
    assert f"{etc / 'router.toml'}:1:" in broken.stderr


# --- the real router -----------------------------------------------------------------------


@needs_router
def test_router_accepts_the_config_init_writes(tmp_path):
    port = free_port()
    etc = init_etc(tmp_path, port)
    added = ctl("component", "add", "muc.example.test", "--secret", "s3cret", "--etc", etc)
    assert added.returncode == 0, added.stderr
    router = subprocess.Popen(
        [str(ROUTER), "--config", str(etc / "router.toml")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "router.err").open("wb"),
    )
    try:
        wait_until(
            lambda: port_open(port) or router.poll() is not None,
            20,
            "the router's port",
        )
        assert router.poll() is None, (tmp_path / "router.err").read_text()
    finally:
        router.send_signal(signal.SIGTERM)
        router.wait(timeout=15)


@needs_router
def test_up_runs_restarts_and_stops_the_router(tmp_path):
    port = free_port()
    etc = init_etc(tmp_path, port)
    with Up(tmp_path, etc) as up:
        wait_until(lambda: port_open(port), 20, "the router's port")
        first = wait_until(lambda: child_running(up.pid, "starling-router"), 10, "the router child")

        # Killed behind starlingctl's back: it comes back, with a new pid.
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: not alive(first), 10, "the killed router to be reaped")
        second = wait_until(
            lambda: (pid := child_running(up.pid, "starling-router")) != first and pid,
            20,
            "a restarted router",
        )
        wait_until(lambda: port_open(port), 20, "the restarted router's port")
        assert "router" in up.stderr() and "restarting" in up.stderr()

        # SIGTERM: every child exits, then starlingctl, with 0.
        assert up.stop() == 0, up.stderr()
        assert not alive(second)
        assert "router |" in up.stderr() or "router |" in up.stdout()


# --- the supervisor, with stand-in daemons -------------------------------------------------

FAKE_ROUTER = """\
import argparse, os, signal, socket, sys, tomllib
parser = argparse.ArgumentParser()
parser.add_argument("--config", required=True)
config = tomllib.load(open(parser.parse_args().config, "rb"))
host, port = config["listen"][0].rsplit(":", 1)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, int(port)))
server.listen()
print(f"fake router pid {os.getpid()} listening", file=sys.stderr, flush=True)
print("hello on stdout", flush=True)
def reload(*_):
    print("reloading", file=sys.stderr, flush=True)
def stop(*_):
    print("shutting down", file=sys.stderr, flush=True)
    sys.exit(0)
signal.signal(signal.SIGHUP, reload)
signal.signal(signal.SIGTERM, stop)
while True:
    conn, _ = server.accept()
    conn.close()
"""


def fake_suite(tmp_path):
    """A bin directory with a copy of starlingctl (so that "next to starlingctl" is this
    directory), a stand-in router, and a c2s that always fails at start."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    copy = bin_dir / "starlingctl"
    shutil.copy2(STARLINGCTL, copy)
    router = bin_dir / "starling-router"
    router.write_text(f"#!{sys.executable}\n{FAKE_ROUTER}")
    c2s = bin_dir / "starling-c2s"
    c2s.write_text("#!/bin/sh\necho 'c2s: config broken' >&2\nexit 1\n")
    for script in (router, c2s):
        script.chmod(0o755)
    env = dict(os.environ, PATH="/usr/bin:/bin")
    return copy, env


def test_up_supervises_daemons(tmp_path):
    copy, env = fake_suite(tmp_path)
    port = free_port()
    # init writes c2s.toml and sm.toml too: the stand-in c2s crash-loops, and there is no
    # starling-sm anywhere, which is reported and skipped.
    etc = init_etc(tmp_path, port)
    with Up(tmp_path, etc, executable=copy, env=env) as up:
        wait_until(lambda: port_open(port), 20, "the fake router's port")
        up.wait_for_output("router | hello on stdout", 10)
        assert "starling-sm" in up.stderr()
        first = wait_until(lambda: child_running(up.pid, "starling-router"), 10, "the router child")
        up.wait_for_output(f"started router (pid {first})", 10)

        # SIGHUP is passed on.
        os.kill(up.pid, signal.SIGHUP)
        up.wait_for_output("router | reloading", 10)

        # A killed router is restarted.
        os.kill(first, signal.SIGKILL)
        up.wait_for_output("router was killed by SIGKILL; restarting in 1 s", 10)
        second = wait_until(
            lambda: (pid := child_running(up.pid, "starling-router")) not in (None, first) and pid,
            20,
            "a restarted router",
        )
        wait_until(lambda: port_open(port), 20, "the restarted router's port")

        # The c2s crash-loops (1+2+4+8 s of backoff) and is given up on; the router keeps running.
        up.wait_for_output("c2s    | c2s: config broken", 10)
        up.wait_for_output("giving up on it", 40)
        assert up.stderr().count("started c2s") == 5
        assert child_running(up.pid, "starling-router") == second and port_open(port)

        assert up.stop() == 0, up.stderr()
        assert "router | shutting down" in up.stderr()
        assert "all daemons stopped" in up.stderr()
        assert not alive(second)


def test_up_second_signal_kills_a_daemon_that_ignores_sigterm(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    copy = bin_dir / "starlingctl"
    shutil.copy2(STARLINGCTL, copy)
    stubborn = bin_dir / "starling-router"
    stubborn.write_text(
        f"#!{sys.executable}\n"
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring SIGTERM', file=sys.stderr, flush=True)\n"
        "while True: time.sleep(60)\n"
    )
    stubborn.chmod(0o755)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "router.toml").write_text("")
    env = dict(os.environ, PATH="/usr/bin:/bin")
    with Up(tmp_path, etc, executable=copy, env=env) as up:
        up.wait_for_output("ignoring SIGTERM", 10)
        pid = child_running(up.pid, "starling-router")
        up.process.send_signal(signal.SIGTERM)
        up.wait_for_output("stopping every daemon", 10)
        assert alive(pid)
        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(timeout=10) == 0, up.stderr()
        assert not alive(pid)
        assert "router stopped (was killed by SIGKILL)" in up.stderr()


def test_up_fails_without_configs_or_executables(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = ctl("up", "--etc", empty, timeout=20)
    assert result.returncode == 1
    assert "no daemon config found" in result.stderr

    missing = ctl("up", "--etc", tmp_path / "nope", timeout=20)
    assert missing.returncode == 1
    assert f"{tmp_path / 'nope'}: cannot read" in missing.stderr

    # router.toml present, but no starling-router next to the (copied) starlingctl or in PATH.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy2(STARLINGCTL, bin_dir / "starlingctl")
    etc = init_etc(tmp_path)
    alone = subprocess.run(
        [str(bin_dir / "starlingctl"), "up", "--etc", str(etc)],
        env=dict(os.environ, PATH="/usr/bin:/bin"),
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert alone.returncode == 1
    assert "starling-router was found neither" in alone.stderr
