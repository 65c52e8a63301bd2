"""Where the nodes run: `process` (real node processes on pipes, maelstrom/hosts/process.py) and
`sim` (node objects driven in virtual time by the deterministic simulator,
maelstrom/hosts/sim.py). Both offer the runner the same interface: start, send, poll, pause,
kill and restart, stop."""
