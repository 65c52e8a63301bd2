"""Bottom-up conversion of nested data without recursion.

Values in histories come from nodes and from files, and may be nested thousands deep; Python's
recursion limit (1,000 frames) must never decide whether a history can be read, checked or
written. Every converter of nested values is written on top of `rebuild`, which keeps its own
stack.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["rebuild"]


def rebuild(root: Any, children: Callable[[Any], list | None], build: Callable[[Any, list], Any],
            leaf: Callable[[Any], Any]) -> Any:
    """Convert `root` bottom-up, iteratively.

    `children(x)` is the list of sub-values of a container `x` to convert first, or None if `x`
    is a leaf; `leaf(x)` converts a leaf; `build(x, converted)` builds the result for the
    container `x` from its converted children (in the order `children` gave them).
    """
    kids = children(root)
    if kids is None:
        return leaf(root)
    stack: list[tuple[Any, list, list]] = [(root, kids, [])]
    while True:
        node, kids, done = stack[-1]
        while len(done) < len(kids):
            child = kids[len(done)]
            sub = children(child)
            if sub is not None:
                stack.append((child, sub, []))
                break
            done.append(leaf(child))
        else:
            stack.pop()
            value = build(node, done)
            if not stack:
                return value
            stack[-1][2].append(value)
