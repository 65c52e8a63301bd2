#!/usr/bin/env python3
"""A correct linearizable KV: every request is forwarded to one owner (the first node), which
applies it and answers through the forwarding node. Under partitions requests get lost (clients
time out), but every answer reflects one serial order of operations."""

from _node import Node
from _owner import OwnerKV

node = Node()
node.run(OwnerKV(node).handlers())
