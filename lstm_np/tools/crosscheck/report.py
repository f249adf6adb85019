"""The crosscheck report: rich tables in the terminal, JSON and HTML files."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_num(v) for v in value)
    return f"{value:.6g}"


def render(result: dict, console: Console) -> None:
    """Print the comparison (or one side's own run) and the verdict."""
    tol = result["tol"]
    rows = result.get("rows") or []
    if rows:
        table = Table(title=f"{result['program']}: Keras ({result['backend']}) vs lstm_np",
                      show_lines=False)
        several = len({row["model"] for row in rows}) > 1
        for column in ("call", "epoch", "value", "Keras", "lstm_np", "rel. diff", ""):
            table.add_column(column, justify="right" if column in ("epoch", "rel. diff")
                             else "left")
        for row in rows:
            ok = row["rel"] <= tol
            model = f" (model {row['model']})" if several else ""
            table.add_row(f"{row['kind']} #{row['event'] + 1}{model}",
                          "" if row["epoch"] is None else str(row["epoch"] + 1), row["name"],
                          _num(row.get("keras")), _num(row.get("lstm_np")), f"{row['rel']:.2e}",
                          "[green]ok[/]" if ok else "[red]PARTS[/]")
        console.print(table)
    for line in result.get("own_run") or []:
        console.print(line)
    layer_rows = result.get("layer_diff") or []
    if layer_rows:
        table = Table(title="Layer by layer, same weights and batch, where the runs part")
        for column in ("layer", "output shape", "max abs", "max rel", ""):
            table.add_column(column)
        for r in layer_rows:
            table.add_row(f"{r['layer']} ({r['class']})" if r["class"] else r["layer"],
                          r["shape"], f"{r['abs']:.2e}", f"{r['rel']:.2e}",
                          "[green]ok[/]" if r["rel"] <= tol else "[red]differs[/]")
        console.print(table)
    for error in result.get("errors") or []:
        console.print(f"[red]{error['side']} run failed[/] at {error.get('where', '')}: "
                      f"{error['type']}: {error['message']}")
        if error.get("line"):
            console.print(f"    {error['line']}")
    console.print(result["verdict"])


def save(result: dict, json_path=None, html_path=None, console: Console | None = None) -> None:
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=1, default=float)
    if html_path and console is not None:
        console.save_html(html_path)
