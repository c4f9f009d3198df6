#!/usr/bin/python3
"""Parses delivery status notifications with Python's email package (an independent parser)
and prints what a test asserts on, as JSON.

stdin: a JSON list of base64 messages. stdout: a JSON list, one object per message:
subject, from, content_type, report_type, auto_submitted, parts (content types), text (the
human-readable part), per_message (fields), recipients (one dict of fields per recipient),
original ({type, headers, body}).
"""
import base64
import email
import email.header
import json
import re
import sys


def unfold(v):
    return re.sub(r"\r?\n[ \t]+", " ", str(v)).strip()


def fields(block):
    return {k: unfold(v) for k, v in block.items()}


def decoded(value):
    if value is None:
        return None
    return unfold(str(email.header.make_header(email.header.decode_header(value))))


out = []
for b64 in json.load(sys.stdin):
    msg = email.message_from_bytes(base64.b64decode(b64))
    parts = msg.get_payload() if msg.is_multipart() else []
    r = {
        "subject": decoded(msg["Subject"]),
        "from": msg["From"],
        "to": msg["To"],
        "content_type": msg.get_content_type(),
        "report_type": msg.get_param("report-type"),
        "auto_submitted": msg["Auto-Submitted"],
        "parts": [p.get_content_type() for p in parts],
        "defects": [type(d).__name__ for d in msg.defects],
    }
    if len(parts) >= 3:
        text = parts[0]
        r["text"] = text.get_payload(decode=True).decode(text.get_content_charset() or "utf-8")
        blocks = parts[1].get_payload()
        r["per_message"] = fields(blocks[0])
        r["recipients"] = [fields(b) for b in blocks[1:]]
        third = parts[2]
        if third.get_content_type() == "message/rfc822":
            inner = third.get_payload()[0]
            r["original"] = {
                "type": "message/rfc822",
                "headers": fields(inner),
                "body": inner.get_payload(decode=True).decode("utf-8", "replace"),
            }
        else:
            r["original"] = {
                "type": third.get_content_type(),
                "headers": fields(email.message_from_bytes(third.get_payload(decode=True))),
                "body": None,
            }
    out.append(r)
print(json.dumps(out))
