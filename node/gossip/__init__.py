"""Gossip membership: SWIM with Lifeguard's refinements, as a sans-IO core (docs/gossip.md).

node/gossip/swim.py        Swim: probes, indirect probes, suspicion, refutation, dissemination,
                           discovery from seeds, soft state; step/tick/next_deadline/take_messages
node/gossip/suspicion.py   Lifeguard's suspicion timer (shrinks with independent confirmations)
node/gossip/awareness.py   Lifeguard's local health multiplier
node/gossip/broadcasts.py  the retransmit-limited queue of piggybacked updates
node/gossip/timing.py      every constant, documented; DEFAULT and PLAIN_SWIM

Gossip informs, Raft decides (docs/design.md): nothing here chooses a leader, a slot owner or a
member of a Raft group.
"""
