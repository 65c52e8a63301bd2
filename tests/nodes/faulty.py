#!/usr/bin/env python3
"""A node that misbehaves in the way named by its first argument, for the bench's fault tests:

- crash:      answers init, then on its first request writes to stderr and exits with status 3
- garbage:    answers init, then answers every request with a line that is not JSON
- badsrc:     answers init, then answers requests with a wrong `src`
- hang:       never answers init
- contradict: answers every request twice, the second time with another echo
- duplicate:  answers every request twice, the same reply both times
- deep:       answers with the echo nested 300 deep
- orphan:     on its first request starts a child that inherits stdout (its pid written to the
              file named by the second argument), then exits with status 5: the child keeps
              stdout open
- goodbye:    when its stdin closes, writes a line that is not JSON, a message to n1 and a last
              line without a newline, then exits
Node n0 misbehaves; the others echo correctly (so the test itself goes on). Except:
- linger:     every node starts such a child at init (pid files: second argument + node id),
              and exits normally when its stdin closes, leaving the child behind
"""

import json
import subprocess
import sys

from _node import Node

mode = sys.argv[1] if len(sys.argv) > 1 else "crash"
node = Node()


def start_child(pid_file: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                             stdin=subprocess.DEVNULL)  # stdout and stderr inherited
    with open(pid_file, "w") as f:
        f.write(str(child.pid))


def echo(msg: dict) -> None:
    body = {"type": "echo_ok", "echo": msg["body"]["echo"]}
    if node.id != "n0" or mode in ("linger", "goodbye"):
        node.reply(msg, body)
    elif mode == "crash":
        print("faulty node: crashing on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    elif mode == "garbage":
        sys.stdout.write("this is not json {\n")
        sys.stdout.flush()
    elif mode == "badsrc":
        body["in_reply_to"] = msg["body"]["msg_id"]
        sys.stdout.write(json.dumps({"src": "n99", "dest": msg["src"], "body": body}) + "\n")
        sys.stdout.flush()
    elif mode in ("contradict", "duplicate"):
        node.reply(msg, dict(body))
        if mode == "contradict":
            body["echo"] = body["echo"] + " (changed)"
        node.reply(msg, body)
    elif mode == "deep":
        value = msg["body"]["echo"]
        for _ in range(300):
            value = [value]
        node.reply(msg, dict(body, echo=value))
    elif mode == "orphan":
        start_child(sys.argv[2])
        print("faulty node: leaving a child behind", file=sys.stderr, flush=True)
        sys.exit(5)


def init_hook() -> None:
    if mode == "linger":
        start_child(f"{sys.argv[2]}{node.id}")


if mode == "hang":
    node.id = ""
    for _ in sys.stdin:  # read forever, answer nothing
        pass
else:
    node.on_init = init_hook
    node.run({"echo": echo})
    if mode == "goodbye" and node.id == "n0":
        sys.stdout.write("goodbye, not json\n")
        sys.stdout.write(json.dumps({"src": "n0", "dest": "n1", "body": {"type": "bye"}}) + "\n")
        sys.stdout.write('{"src": "n0", "dest": "n1", "bo')
        sys.stdout.flush()
