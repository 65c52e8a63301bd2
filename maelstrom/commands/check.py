"""`maelstrom check PATH`: check a recorded history for linearizability.

PATH is a history.edn (Jepsen/Maelstrom or Knossos), a history.jsonl, a store run directory, or
a store root with a `latest` link. Exit status: 0 valid, 1 invalid, 2 unknown, 254 the history
could not be read, holds no :invoke (empty: nothing was tested), or the arguments are wrong.
"""

from __future__ import annotations

import hashlib
import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import click

from maelstrom import edn, json_write
from maelstrom.checker import check as check_history
from maelstrom.progress import count_progress_for
from maelstrom.checker import edn_ready, guess_model
from maelstrom.checker.report import picture, render_html, render_svg
from maelstrom.history import HistoryError, read_history
from maelstrom.store import to_json

EXIT = {True: 0, False: 1, "unknown": 2}
EXIT_ERROR = 254
MAX_KEYS_LISTED = 40


def _verdict(v: Any) -> str:
    return {True: "valid", False: "INVALID"}.get(v, "UNKNOWN") if isinstance(v, bool) or v == "unknown" else str(v)


def _op_line(op: dict | None) -> str:
    if not op:
        return "(the start of the history)"
    line = (f"op {op['index']}: process {op['process']} :{op['type']} :{op['f']} "
            f"{edn.dumps(op['value'], keyword_keys=False)}")
    if op.get("error") is not None:
        line += f"  error {edn.dumps(op['error'], keyword_keys=False)}"
    return line


def _explain(lin: dict, prefix: str) -> list[str]:
    """The failing window of one register, as text."""
    if lin.get("valid?") == "unknown":
        return [f"{prefix}unknown: {lin.get('cause')}"]
    if "op" not in lin:
        return []
    lines = [f"{prefix}cannot linearize {_op_line(lin['op'])}"]
    if lin.get("cause"):
        lines.append(f"  why: {lin['cause']}")
    lines += [
             f"  last op known good: {_op_line(lin.get('previous-ok'))}",
             "  register values reachable just before it: "
             + (", ".join(edn.dumps(s, keyword_keys=False) for s in lin.get("states", []))
                or "(not searched)")]
    concurrent = lin.get("concurrent", [])
    if concurrent:
        lines.append(f"  concurrent ops ({len(concurrent) + lin.get('concurrent-omitted', 0)}):")
        lines += [f"    {_op_line(op)}" for op in concurrent]
    if lin.get("final-paths"):
        lines.append("  attempts that fail there:")
        for path in lin["final-paths"]:
            head, tail = path[0], path[-1]
            after = f"op {head['op']['index']}" if head.get("op") else "start"
            lines.append(f"    after {after} (register "
                         f"{edn.dumps(head['model'].get('value'), keyword_keys=False)}): "
                         f"op {tail['op']['index']} -> {tail['model'].get('inconsistent')}")
    return lines


_SAFE_NAME = re.compile(r"[A-Za-z0-9._+-]+")
_MAX_NAME = 200  # bytes of KEY in linear-KEY.html, well under the usual 255-byte limit


def picture_names(keys: list) -> dict:
    """key -> the KEY part of its `linear-KEY.svg`: one file per key, never two keys per file.

    KEY is the key's EDN text when that is made only of letters, digits and `._+-` (an integer
    key 3 gives linear-3.svg); otherwise the text percent-encoded, `%` included (the string
    "a b" gives linear-%22a%20b%22.svg, "1" linear-%221%22.svg). Distinct texts give distinct
    names; a text too long for a file name is cut and ends in `~` and a hash of the whole; keys
    that print the same (two NaNs) get `~2`, `~3`... (`~` never appears in an encoded text).
    """
    names: dict = {}
    used: set[str] = set()
    for key in keys:
        text = edn.dumps(key, keyword_keys=False)
        name = text if _SAFE_NAME.fullmatch(text) else urllib.parse.quote(text, safe="")
        if len(name) > _MAX_NAME:
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
            name = name[:_MAX_NAME - 17] + "~" + digest
        unique, n = name, 1
        while unique in used:
            n += 1
            unique = f"{name}~{n}"
        used.add(unique)
        names[key] = unique
    return names


def _write_out(out: Path, result: dict, model: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    results_edn = out / "results.edn"
    results_edn.write_text(edn.dumps(edn_ready(result), pretty=True) + "\n", encoding="utf-8")
    written.append(results_edn)
    if model == "cas-register":
        invalid = [("linear", "linearizability counterexample", result)] \
            if result["valid?"] is False else []
    else:
        names = picture_names(result["failures"])
        invalid = [(f"linear-{names[k]}",
                    f"linearizability counterexample, key {edn.excerpt(k, 60)}",
                    result["results"][k]["linearizable"]) for k in result["failures"]]
    for stem, title, lin in invalid:
        pic = picture(lin, title=title)
        for ext, text in (("svg", render_svg(pic)), ("html", render_html(pic))):
            path = out / f"{stem}.{ext}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _write_reports(out: Path, path: Path, ops: list, result: dict, model: str) -> list[Path]:
    """The reports (maelstrom/reports) next to the pictures: plots and timelines from the
    history; messages.svg and cluster.html too when PATH is a store run (or a history file in
    one) with its journal and node logs. Returns the files written (timelines summed up in one line by the caller)."""
    from maelstrom.commands.replay import run_dir
    from maelstrom.reports import ReportOptions
    from maelstrom.reports.cli import render_run

    path = Path(path)
    source = run_dir(path) or (run_dir(path.parent) if path.is_file() else None)
    report = render_run(out, ReportOptions(), ops,
                        {"workload": result} if model == "lin-kv" else {"workload": {}},
                        journal_dir=source if source is not None and source.resolve()
                        != out.resolve() else None)
    return [out / name for name in (report.written if report else [])]


@click.command(name="check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--model", type=click.Choice(["cas-register", "lin-kv"]),
              help="Model to check against (default: lin-kv if values are [key value] pairs).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Write results.edn, for each failure linear[-KEY].svg/.html (KEY: the "
                   "key's EDN text, percent-encoded unless plain), and the reports (plots, "
                   "timelines; of a store run also messages.svg, cluster.html) here.")
@click.option("--time-limit", type=float, help="Seconds; a longer search ends as unknown.")
def check(path: Path, model: str | None, as_json: bool, out: Path | None,
          time_limit: float | None) -> None:
    """Check the history at PATH for linearizability."""
    if time_limit is not None and not time_limit > 0:
        click.echo("error: --time-limit must be a positive number of seconds", err=True)
        sys.exit(EXIT_ERROR)
    try:
        ops = read_history(path)
    except HistoryError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if not any(op.type == "invoke" for op in ops):  # nothing was tested: not "valid"
        what = "is empty" if not ops else f"has {len(ops)} ops but no :invoke"
        click.echo(f"error: {path}: the history {what}; nothing to check", err=True)
        sys.exit(EXIT_ERROR)
    if model is None:
        model = guess_model(ops)
        reason = ("values are [key value] pairs" if model == "lin-kv"
                  else "values are not [key value] pairs")
        note = f"model: {model} (guessed: {reason}; use --model to choose)"
    else:
        note = f"model: {model}"
    progress = count_progress_for(False, "check", "keys", 0)  # stderr, on a terminal only

    def tell(done: int, total: int, failing: int) -> None:
        progress.total = total
        progress.update(done, failing)

    try:
        result = check_history(ops, model, time_limit=time_limit,
                               progress=tell if progress is not None else None)
    finally:
        if progress is not None:
            progress.clear()
    valid = result["valid?"]

    written = []
    if out is not None:
        try:
            written = _write_out(out, result, model)
        except OSError as exc:
            click.echo(f"error: cannot write to {out}: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        written += _write_reports(out, path, ops, result, model)

    if as_json:
        click.echo(note, err=True)
        click.echo(json_write.dumps(to_json(result), indent=True).decode("utf-8", "replace"))
    else:
        clients = sum(1 for op in ops if isinstance(op.process, int))
        click.echo(f"history: {path} ({len(ops)} ops, {clients} from clients)")
        click.echo(note)
        lines: list[str] = []
        if model == "lin-kv":
            results = result["results"]
            if "cause" in result:
                lines.append(f"unknown: {result['cause']}")
            shown = 0
            for key, r in results.items():
                if r["valid?"] is True and len(results) > MAX_KEYS_LISTED:
                    continue
                shown += 1
                lin = r["linearizable"]
                lines.append(f"key {edn.dumps(key, keyword_keys=False)}: {_verdict(r['valid?'])} "
                             f"({lin.get('configs', 0)} configurations)")
            if shown < len(results):
                lines.append(f"({len(results) - shown} more keys, all valid)")
            for key in results:
                lin = results[key]["linearizable"]
                if lin["valid?"] is not True:
                    lines += _explain(lin, f"key {edn.dumps(key, keyword_keys=False)}: ")
        else:
            lines += _explain(result, "")
        for line in lines:
            click.echo(line)
        click.echo(f"overall: {_verdict(valid)}")
        timelines = [p for p in written if p.name.startswith("timeline-")]
        for p in written:
            if p not in timelines:
                click.echo(f"wrote {p}")
        if timelines:
            click.echo(f"wrote {len(timelines)} timeline page{'s' if len(timelines) != 1 else ''} "
                       f"({out}/timeline-KEY.html)")
    sys.exit(EXIT.get(valid, 2))
