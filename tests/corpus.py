"""Where the shared test corpus lives: `../shared/corpus` beside the project checkout (present in
CI). Tests read it from there; it is never copied into the repo."""

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

if not CORPUS.is_dir():
    raise RuntimeError(f"shared test corpus not found at {CORPUS} (expected ../shared/corpus "
                       "beside the project checkout)")
