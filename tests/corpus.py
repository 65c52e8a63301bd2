"""Where the test corpus lives: `tests/corpus/`, in the repository (see tests/corpus/README.md for
where each set comes from). Tests read histories only from there."""

from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"

if not CORPUS.is_dir():
    raise RuntimeError(f"test corpus not found at {CORPUS} (it is part of the repository)")
