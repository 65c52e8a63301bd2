#!/usr/bin/env python3
"""Ring node for the bench's throughput benchmark: after init, node i starts N tokens (first
argument, default 20) towards node i+1, and every node forwards every token it receives to its
successor. Messages flow as fast as the bench can route them."""

import json
import os
import sys

tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 20
me, succ = "", ""
fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
buf = b""
while True:
    chunk = os.read(fd_in, 1 << 16)
    if not chunk:
        break
    buf += chunk
    *lines, buf = buf.split(b"\n")
    out = []
    for line in lines:
        msg = json.loads(line)
        body = msg["body"]
        if body["type"] == "init":
            me, ids = body["node_id"], body["node_ids"]
            succ = ids[(ids.index(me) + 1) % len(ids)]
            out.append(json.dumps({"src": me, "dest": msg["src"], "body": {
                "type": "init_ok", "in_reply_to": body["msg_id"]}}))
            out.extend(json.dumps({"src": me, "dest": succ, "body": {"type": "hop", "t": i}})
                       for i in range(tokens))
        elif body["type"] == "hop":
            out.append(json.dumps({"src": me, "dest": succ, "body": body}))
    if out:
        os.write(fd_out, ("\n".join(out) + "\n").encode())
