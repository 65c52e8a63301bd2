"""Cluster mode (issue 10): keys and the 16384-slot map (`slots`), the `cluster.*` configuration
(`config`), the initial deterministic layout of the meta and shard groups (`layout`), and the
multi-Raft host that runs them. The pure modules are sans-IO and depend on the standard library
only; see docs/design.md (decisions 2, 3 and 7).
"""
