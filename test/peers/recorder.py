#!/usr/bin/python3
"""A recording SMTP receiver for tests: aiosmtpd (Debian's python3-aiosmtpd) with a small
handler that answers MAIL/RCPT/DATA as the test configures and keeps every accepted message.

Usage: recorder.py CONFIG.json
CONFIG: {"host", "port" (0 = any free port), "dir", "rules": [{"match", "code", "text"?,
"times"?}], "mail_rules": [same, matched against the sender], "data_reply": {"code", "text",
"times"?} | null, "data_delay_ms", "smtputf8", "eightbitmime", "dsn", "tls": {"cert", "key"} | null,
"require_tls", "hostname"}

For each accepted message it writes DIR/NNNNNN.eml (the bytes after dot-unstuffing, exactly as
received, RFC 5321 section 4.5.2) and then DIR/NNNNNN.json (envelope), the JSON last and by
rename, so a reader never sees half a message. Every SMTP event goes to DIR/events.jsonl.
Prints "READY <port>" on stdout once listening.
"""
import asyncio
import json
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP

CFG = json.load(open(sys.argv[1]))
DIR = CFG["dir"]
os.makedirs(DIR, exist_ok=True)
EVENTS = open(os.path.join(DIR, "events.jsonl"), "a", buffering=1)
COUNTER = {"msg": 0, "conn": 0}


def event(**fields):
    EVENTS.write(json.dumps(fields) + "\n")


def default_text(code):
    cls = str(code)[0]
    return {"2": "2.0.0 Ok", "4": "4.0.0 Try again later (test rule)"}.get(cls, f"{cls}.0.0 Refused (test rule)")


def reply(rule):
    return f"{rule['code']} {rule.get('text') or default_text(rule['code'])}"


def pick(rules, value):
    """First rule whose regex matches `value` and that has uses left ("times" counts down)."""
    for rule in rules:
        if re.search(rule["match"], value, re.IGNORECASE) is None:
            continue
        if "times" in rule and rule["times"] is not None:
            if rule["times"] <= 0:
                continue
            rule["times"] -= 1
        return rule
    return None


def raw_params(arg):
    """Parameters after <address>, case kept (aiosmtpd upper-cases its own copy)."""
    m = re.match(r"^\s*(?:FROM|TO)\s*:\s*<[^>]*>\s*(.*)$", arg or "", re.IGNORECASE | re.DOTALL)
    if m is None:
        m = re.match(r"^\s*(?:FROM|TO)\s*:\s*\S+\s*(.*)$", arg or "", re.IGNORECASE | re.DOTALL)
    return m.group(1).split() if m else []


class RecordingSMTP(SMTP):
    """Keeps the raw MAIL/RCPT arguments so the handler can record parameters as sent, and
    numbers connections."""

    conn_id = 0

    def connection_made(self, transport):
        # aiosmtpd calls this again after STARTTLS (RFC 3207 section 4.2: a fresh session on
        # the same connection); count only TCP connections.
        starttls = self._original_transport is not None
        super().connection_made(transport)
        if starttls:
            event(ev="starttls", conn=self.conn_id)
            return
        COUNTER["conn"] += 1
        self.conn_id = COUNTER["conn"]
        event(ev="connect", conn=self.conn_id, peer=list(self.session.peer or [])[:2])

    async def smtp_MAIL(self, arg):
        self.raw_mail_arg = arg
        if CFG.get("dsn", True) and arg:
            # aiosmtpd knows no DSN parameters (RFC 3461 section 4.3/4.4); accept them here
            arg = re.sub(r"\s+(RET|ENVID)=\S*", "", arg, flags=re.IGNORECASE)
        return await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        self.raw_rcpt_arg = arg
        if CFG.get("dsn", True) and arg:
            arg = re.sub(r"\s+(NOTIFY|ORCPT)=\S*", "", arg, flags=re.IGNORECASE)
        return await super().smtp_RCPT(arg)


class Handler:
    def __init__(self):
        self.rules = CFG.get("rules") or []
        self.mail_rules = CFG.get("mail_rules") or []
        self.data_reply = CFG.get("data_reply")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        event(ev="ehlo", conn=server.conn_id, helo=hostname, tls=server._tls_protocol is not None)
        if not CFG.get("eightbitmime", True):
            responses = [r for r in responses if r[4:] != "8BITMIME"]
        if CFG.get("dsn", True):
            responses.insert(len(responses) - 1, "250-DSN")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        event(ev="helo", conn=server.conn_id, helo=hostname)
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        options = raw_params(getattr(server, "raw_mail_arg", ""))
        rule = pick(self.mail_rules, address)
        status = reply(rule) if rule else "250 2.1.0 Ok"
        event(ev="mail", conn=server.conn_id, address=address, options=options, reply=status)
        if status.startswith("2"):
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
            envelope.raw_mail_options = options
            envelope.rcpts = []
        return status

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        options = raw_params(getattr(server, "raw_rcpt_arg", ""))
        rule = pick(self.rules, address)
        status = reply(rule) if rule else "250 2.1.5 Ok"
        event(ev="rcpt", conn=server.conn_id, address=address, options=options, reply=status)
        if status.startswith("2"):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            envelope.rcpts.append({"address": address, "options": options})
        return status

    async def handle_DATA(self, server, session, envelope):
        delay = CFG.get("data_delay_ms") or 0
        if delay:
            await asyncio.sleep(delay / 1000)
        rule = None
        if self.data_reply is not None:
            self.data_reply.setdefault("match", "")
            rule = pick([self.data_reply], "")
        data = envelope.original_content
        if rule is not None and not str(rule["code"]).startswith("2"):
            status = reply(rule)
            event(ev="data", conn=server.conn_id, size=len(data), reply=status)
            return status
        COUNTER["msg"] += 1
        name = f"{COUNTER['msg']:06d}"
        with open(os.path.join(DIR, name + ".eml"), "wb") as f:
            f.write(data)
        meta = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "mail_options": getattr(envelope, "raw_mail_options", []),
            "rcpts": getattr(envelope, "rcpts", []),
            "helo": session.host_name,
            "tls": server._tls_protocol is not None,
            "conn": server.conn_id,
            "smtputf8": bool(getattr(envelope, "smtp_utf8", False)),
        }
        with open(os.path.join(DIR, name + ".json.tmp"), "w") as f:
            json.dump(meta, f)
        os.rename(os.path.join(DIR, name + ".json.tmp"), os.path.join(DIR, name + ".json"))
        status = reply(rule) if rule else f"250 2.0.0 Ok: queued as R{name}"
        event(ev="data", conn=server.conn_id, size=len(data), reply=status, file=name)
        return status

    async def handle_QUIT(self, server, session, envelope):
        event(ev="quit", conn=server.conn_id)
        return "221 2.0.0 Bye"


TLS = None
if CFG.get("tls"):
    TLS = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    TLS.load_cert_chain(CFG["tls"]["cert"], CFG["tls"]["key"])


def factory():
    tls = TLS
    server = RecordingSMTP(
        HANDLER,
        data_size_limit=64 * 1024 * 1024,
        enable_SMTPUTF8=CFG.get("smtputf8", True),
        decode_data=False,
        hostname=CFG.get("hostname") or "recorder.example.test",
        ident="test recorder",
        tls_context=tls,
        require_starttls=bool(tls and CFG.get("require_tls")),
    )
    return server


HANDLER = Handler()


async def main():
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(factory, host=CFG["host"], port=CFG["port"])
    port = srv.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # The test process holds our stdin open; end of file means it is gone, so do not linger.
    def on_stdin():
        if not os.read(sys.stdin.fileno(), 4096):
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    print(f"READY {port}", flush=True)
    await stop.wait()
    srv.close()


asyncio.run(main())
