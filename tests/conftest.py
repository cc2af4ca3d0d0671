"""pytest fixtures for Starling's integration tests.

Fixtures:
  processes        the daemons this test started (stopped at teardown; their logs are attached
                   to the report when the test fails)
  workdir          a per-test directory (tmp_path) where configs, logs and databases go
  starling_router  factory: starling_router(config_dict_or_toml_text) -> RouterHandle
  jabberd2         factory: jabberd2(**kw) -> helpers.jabberd2.Jabberd2 (not started)
  jabberd2_required  skips the test when jabberd2 is not installed

Environment:
  STARLING_BIN_DIR  directory with the Starling executables (default <repo>/target/debug)
  JABBERD2_SBIN     directory with jabberd2-{router,sm,c2s} (default /usr/sbin)
  RUST_LOG          passed to Starling daemons (default debug)
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from helpers import jabberd2 as jd2
from helpers.process import ProcessRegistry
from helpers.starling import start_router

_REGISTRY_KEY = pytest.StashKey[ProcessRegistry]()


@pytest.fixture
def processes(request) -> ProcessRegistry:
    registry = ProcessRegistry()
    request.node.stash[_REGISTRY_KEY] = registry
    yield registry
    registry.stop_all()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def starling_router(workdir: Path, processes: ProcessRegistry):
    """Start starling-router from a config (dict written as TOML, or TOML text).

    Several routers per test are allowed: pass name="router2" to keep their files apart.
    """

    def start(config, **kw):
        return start_router(workdir, processes, config, **kw)

    return start


@pytest.fixture
def jabberd2_required():
    reason = jd2.missing_reason()
    if reason:
        pytest.skip(f"jabberd2 not available: {reason}")


@pytest.fixture
def jabberd2(workdir: Path, processes: ProcessRegistry, jabberd2_required):
    """Make a jabberd2 installation in the test directory; call .start() or start_* on it."""

    def make(**kw) -> jd2.Jabberd2:
        sub = kw.pop("subdir", "jabberd2")
        return jd2.Jabberd2(workdir / sub, processes, **kw)

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        registry = item.stash.get(_REGISTRY_KEY, None)
        if registry is not None:
            for proc in registry:
                report.sections.append((f"daemon log: {proc.name} ({report.when})", proc.tail(80)))


def pytest_configure(config):
    # slixmpp is chatty at DEBUG; keep its stanza traces available in failure reports at INFO+.
    logging.getLogger("slixmpp").setLevel(logging.DEBUG)
