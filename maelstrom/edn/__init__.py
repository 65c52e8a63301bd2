"""EDN in and out, as plain Python data.

- types.py: what stands for what (Keyword, Symbol, Char, Tagged) and `frozen`, the hashable
  form of a value whose `==` is Clojure's `=` (1, 1.0 and true are three values).
- read.py: `loads`, `loads_all` (a fast iterative reader, edn_format for the rest).
- write.py: `dumps` (iterative, Jepsen's layout; `pretty=True` as Clojure's pprint for
  results.edn), `excerpt` for messages.
"""

from maelstrom.edn.read import _Unsupported, _fast_loads_all, _slow_loads_all, loads, loads_all
from maelstrom.edn.types import (
    Char, EDNError, Frozen, Keyword, Symbol, Tagged, frozen,
)
from maelstrom.edn.write import _KEYWORD_NAME, dumps, excerpt

__all__ = ["Keyword", "Symbol", "Char", "Tagged", "Frozen", "EDNError", "dumps",
           "excerpt", "frozen", "loads", "loads_all"]
