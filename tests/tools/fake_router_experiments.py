#!/usr/bin/env python3
"""Throw-away experiment: run jabberd2's sm + c2s against tests/tools/fake_router.py with each knob
and report whether register + login + chat still works. Findings go to PROTOCOL-CAPTURE.md.

    python3 tests/tools/fake_router_experiments.py [knob-set ...]
"""

from __future__ import annotations

import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import jabberd2 as jd2  # noqa: E402
from helpers.ports import free_port  # noqa: E402
from helpers.process import Process, ProcessRegistry  # noqa: E402
from helpers.xmpp import run_async  # noqa: E402
from test_jabberd2_baseline import register_and_chat  # noqa: E402

EXPERIMENTS = {
    "plain": [],
    "no-rspauth": ["--no-rspauth"],
    "no-features": ["--no-features"],
    "default-ns": ["--default-ns"],
    "keep-name": ["--keep-name"],
    "gen-prefixes": ["--gen-prefixes"],
    "no-advertise": ["--no-advertise"],
    "scram-first": ["--mechs", "SCRAM-SHA-256,PLAIN,DIGEST-MD5"],
    "no-digest-offered": ["--mechs", "SCRAM-SHA-256"],
    "decls-last": ["--decls-last"],
    "all-quirks": ["--no-rspauth", "--no-features", "--default-ns", "--keep-name", "--gen-prefixes"],
}


def run(name: str, knobs: list[str]) -> tuple[bool, str]:
    work = Path(tempfile.mkdtemp(prefix=f"fake-{name}-"))
    reg = ProcessRegistry()
    port = free_port()
    try:
        fr = reg.add(
            Process(
                "fake-router",
                [sys.executable, Path(__file__).with_name("fake_router.py"), "--port", str(port), "--password", "secret", *knobs],
                work,
            )
        )
        fr.start()
        fr.wait_for_port(port)
        suite = jd2.Jabberd2(work, reg, router_port=port, router_password="secret")
        suite.start_sm(timeout=10)
        suite.start_c2s(timeout=10)
        run_async(register_and_chat(suite.c2s_host, suite.c2s_port), timeout=30)
        return True, str(work)
    except Exception:
        detail = traceback.format_exc(limit=2)
        for p in reg:
            detail += "\n" + p.tail(15)
        return False, detail
    finally:
        reg.stop_all()


def main():
    names = sys.argv[1:] or list(EXPERIMENTS)
    for n in names:
        ok, detail = run(n, EXPERIMENTS[n])
        print(f"==== {n}: {'OK' if ok else 'FAILED'}")
        if not ok:
            print(detail)


if __name__ == "__main__":
    main()
