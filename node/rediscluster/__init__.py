"""Gossip mode (`cluster.consensus = "gossip"`): a model of Redis Cluster as it is today, to
run on the same seeds as the Raft mode and show what gossip-only clusters lose
(docs/gossip_mode.md).

timing.py       every timing constant (NODE_TIMEOUT = 1 s; Redis' default is 15 s) and why
view.py         the node table, the slot table, current/config epochs, Rules 1 and 2, UPDATE
bus.py          the cluster bus: ping/pong with gossip, PFAIL, failure reports, FAIL, state
failover.py     replica elections (rank delay, one vote per epoch, the 2 x NODE_TIMEOUT rule)
replication.py  asynchronous primary -> replica replication, PSYNC, full resync
server.py       GossipServer, the Maelstrom lin-kv node (sans-IO, like node/server.py)
audit.py        what the node logs say after a run: fail-overs, lost writes, two primaries
"""
