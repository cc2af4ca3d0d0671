#!/usr/bin/env python3
"""Throw-away experiment: a minimal jabberd2-protocol router in Python, with knobs, to find out what
jabberd2's sm and c2s actually require from a router (see tests/jabberd2/PROTOCOL-CAPTURE.md).

    python3 tests/tools/fake_router.py --port P --user jabberd --password secret [knobs]

Knobs (each turns one thing jabberd2's router does into something else):
  --no-rspauth           SASL <success/> without the rspauth data
  --no-features          no <stream:features/> after the post-auth stream restart
  --default-ns           declare the component namespace as the default namespace on the
                         post-auth stream header and write top-level elements without xmlns
  --keep-name            bind replies keep the name attribute
  --no-advertise         never send <presence/> advertisements
  --gen-prefixes         write namespaced attributes with generated prefixes (ns1:c2s) instead of
                         the sender's (sc:c2s)
  --decls-last           write prefix declarations (xmlns:sc) after xmlns= and the other
                         attributes, as starling-router did on 2026-11-22
  --mechs LIST           offer these SASL mechanisms (comma-separated) instead of DIGEST-MD5

Not a test and not a reference implementation: no ACLs, no multi, single process, no limits.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import re
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_COMP = "http://jabberd.jabberstudio.org/ns/component/1.0"
REALM = "jabberd-router"
KNOWN_PREFIXES = {
    "http://jabberd.jabberstudio.org/ns/session/1.0": "sc",
    "http://www.w3.org/XML/1998/namespace": "xml",
}

args = None
conns: dict[int, "Conn"] = {}
routes: dict[str, "Conn"] = {}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def split(tag):
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        return ns, local
    return "", tag


def serialize(el: ET.Element, inherited_ns: str) -> str:
    ns, local = split(el.tag)
    attrs = []
    decls = {}
    if ns != inherited_ns:
        attrs.append(f"xmlns={quoteattr(ns)}")
    gen = 0
    for k, v in el.attrib.items():
        ans, alocal = split(k)
        if ans:
            if ans == "http://www.w3.org/XML/1998/namespace":
                attrs.append(f"xml:{alocal}={quoteattr(v)}")
                continue
            if args.gen_prefixes:
                gen += 1
                p = decls.setdefault(ans, f"ns{gen}")
            else:
                p = decls.setdefault(ans, KNOWN_PREFIXES.get(ans, f"ns{len(decls) + 1}"))
            attrs.append(f"{p}:{alocal}={quoteattr(v)}")
        else:
            attrs.append(f"{k}={quoteattr(v)}")
    for uri, p in decls.items():
        if args.decls_last:
            attrs.append(f"xmlns:{p}={quoteattr(uri)}")  # after xmlns= and the other attributes
        else:
            attrs.insert(0, f"xmlns:{p}={quoteattr(uri)}")
    out = "<" + local + "".join(" " + a for a in attrs)
    children = list(el)
    if not children and not el.text:
        return out + "/>"
    out += ">" + escape(el.text or "")
    for c in children:
        out += serialize(c, ns) + escape(c.tail or "")
    return out + f"</{local}>"


def domain_of(jid: str) -> str:
    jid = jid.split("/", 1)[0]
    return jid.split("@", 1)[-1]


def md5(b: bytes) -> bytes:
    return hashlib.md5(b).digest()


def parse_digest(s: str) -> dict:
    return {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in re.finditer(r'([\w-]+)=(?:"([^"]*)"|([^,]*))', s)}


class Conn:
    seq = 0

    def __init__(self, reader, writer):
        Conn.seq += 1
        self.id = Conn.seq
        self.reader = reader
        self.writer = writer
        self.parser = None
        self.depth = 0
        self.root = None
        self.authed = False
        self.user = None
        self.nonce = base64.b64encode(os.urandom(16)).decode()
        self.names: list[str] = []
        self.default_ns = ""  # namespace of un-prefixed top-level elements we write

    def send(self, s: str):
        log(f"#{self.id} R->C {s}")
        self.writer.write(s.encode())

    def send_el(self, el: ET.Element):
        self.send(serialize(el, self.default_ns))

    def new_parser(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.root = None

    async def run(self):
        self.new_parser()
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                log(f"#{self.id} C->R {data.decode(errors='replace')}")
                await self.feed(data)
        finally:
            self.close()

    async def feed(self, data: bytes):
        # Feed byte by byte only around stream restarts is unnecessary: the client waits for
        # <success/> before sending the new header.
        self.parser.feed(data)
        for ev, el in list(self.parser.read_events()):
            if ev == "start":
                if self.depth == 0:
                    self.root = el
                    self.on_header(el)
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 0:
                    self.send("</stream:stream>")
                    self.writer.close()
                    return
                if self.depth == 1:
                    self.root.remove(el)
                    restart = self.on_element(el)
                    if restart:
                        self.new_parser()
                        return

    def on_header(self, el):
        sid = os.urandom(8).hex()
        if not self.authed:
            self.send(
                f"<?xml version='1.0'?><stream:stream xmlns:stream='{NS_STREAM}' version='1.0' id='{sid}'>"
                f"<stream:features xmlns:stream='{NS_STREAM}'><mechanisms xmlns='{NS_SASL}'>"
                + "".join(f"<mechanism>{m}</mechanism>" for m in args.mechs.split(",") if m)
                + "</mechanisms></stream:features>"
            )
        else:
            dflt = f" xmlns='{NS_COMP}'" if args.default_ns else ""
            self.default_ns = NS_COMP if args.default_ns else ""
            self.send(f"<?xml version='1.0'?><stream:stream xmlns:stream='{NS_STREAM}'{dflt} version='1.0' id='{sid}'>")
            if not args.no_features:
                self.send(f"<stream:features xmlns:stream='{NS_STREAM}'/>")

    def on_element(self, el) -> bool:
        ns, local = split(el.tag)
        if not self.authed:
            if ns == NS_SASL and local == "auth":
                ch = f'realm="{REALM}", nonce="{self.nonce}", qop="auth", charset=utf-8, algorithm=md5-sess'
                self.send(f"<challenge xmlns='{NS_SASL}'>{base64.b64encode(ch.encode()).decode()}</challenge>")
            elif ns == NS_SASL and local == "response":
                if not (el.text or "").strip():
                    return False  # final empty response (not seen with jabberd2)
                d = parse_digest(base64.b64decode(el.text).decode())
                user = d["username"]
                if user != args.user:
                    self.send(f"<failure xmlns='{NS_SASL}'><not-authorized/></failure>")
                    return False
                a1 = md5(f"{user}:{d['realm']}:{args.password}".encode()) + f":{d['nonce']}:{d['cnonce']}".encode()
                if "authzid" in d:
                    a1 += f":{d['authzid']}".encode()
                ha1 = hashlib.md5(a1).hexdigest()

                def resp(a2):
                    ha2 = hashlib.md5(a2.encode()).hexdigest()
                    return hashlib.md5(f"{ha1}:{d['nonce']}:{d['nc']}:{d['cnonce']}:{d['qop']}:{ha2}".encode()).hexdigest()

                if resp(f"AUTHENTICATE:{d['digest-uri']}") != d["response"]:
                    log(f"#{self.id} bad digest response")
                    self.send(f"<failure xmlns='{NS_SASL}'><not-authorized/></failure>")
                    return False
                self.authed = True
                self.user = user
                if args.no_rspauth:
                    self.send(f"<success xmlns='{NS_SASL}'/>")
                else:
                    rsp = base64.b64encode(f"rspauth={resp(':' + d['digest-uri'])}".encode()).decode()
                    self.send(f"<success xmlns='{NS_SASL}'>{rsp}</success>")
                return True
            return False
        if ns != NS_COMP:
            log(f"#{self.id} dropping {el.tag}")
            return False
        if local == "bind":
            name = el.get("name")
            reply = ET.Element(el.tag, {k: v for k, v in el.attrib.items() if args.keep_name or k != "name"})
            for c in el:
                reply.append(c)
            if not name or (name in routes and "multi" not in el.attrib):
                reply.set("error", "409" if name else "400")
                self.send_el(reply)
                return False
            routes[name] = self
            self.names.append(name)
            self.send_el(reply)
            if not args.no_advertise:
                for other in conns.values():
                    if other is not self and other.authed:
                        other.send_el(ET.Element(f"{{{NS_COMP}}}presence", {"from": name}))
                for rname, rc in routes.items():
                    if rc is not self:
                        self.send_el(ET.Element(f"{{{NS_COMP}}}presence", {"from": rname}))
        elif local == "route":
            target = routes.get(domain_of(el.get("to", "")))
            if target is None:
                el.set("error", "404")
                self.send_el(el)
            else:
                target.send_el(el)
        return False

    def close(self):
        conns.pop(self.id, None)
        for n in self.names:
            if routes.get(n) is self:
                del routes[n]
                if not args.no_advertise:
                    for other in conns.values():
                        other.send_el(ET.Element(f"{{{NS_COMP}}}presence", {"from": n, "type": "unavailable"}))


async def handle(reader, writer):
    c = Conn(reader, writer)
    conns[c.id] = c
    log(f"#{c.id} connect")
    await c.run()


async def main():
    global args
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", default="jabberd")
    ap.add_argument("--password", default="secret")
    for k in ("no-rspauth", "no-features", "default-ns", "keep-name", "no-advertise", "gen-prefixes", "decls-last"):
        ap.add_argument("--" + k, action="store_true")
    ap.add_argument("--mechs", default="DIGEST-MD5", help="comma-separated mechanisms to offer")
    args = ap.parse_args()
    server = await asyncio.start_server(handle, "127.0.0.1", args.port)
    log(f"fake router on {args.port}: {vars(args)}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
