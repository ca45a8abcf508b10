"""The bench's figures as one table, in plain text for the terminal and in Markdown for the README."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Row = tuple[str, str, str, str, str]
HEADER: Row = ("Workload", "Measure", "Gateway", "Zebra", "Gateway/Zebra")
KIND_NAMES = {"isbn": "ISBN", "title": "title word", "author": "author", "id": "Melinda ID"}


def number(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    if not ours or not theirs:
        return ""
    return f"{ours / theirs:.2f}"


def _search_cell(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "–"
    cpu = figures.get("server_cpu_ms_per_query")
    return (
        f"{number(figures['per_second'])} q/s "
        f"({number(figures['p50_ms'], 1)} / {number(figures['p99_ms'], 1)} ms"
        + (f"; CPU {cpu:.2f} ms/q)" if cpu is not None else ")")
    )


def rows(result: dict[str, Any]) -> list[Row]:
    """Table rows of a result (the JSON the bench writes); missing workloads are skipped."""
    out: list[Row] = []
    load = result.get("load")
    zebra = result.get("zebra") or {}
    index = zebra.get("index") or {}
    if load:
        out.append(
            (
                "load",
                "records/s",
                number(load["records_per_second"]),
                number(index.get("records_per_second")) + (" (zebraidx)" if index else ""),
                ratio(load["records_per_second"], index.get("records_per_second")),
            )
        )
        if load.get("cpu_ms_per_record") is not None:
            out.append(
                (
                    "load",
                    "CPU ms per record (all processes)",
                    number(load["cpu_ms_per_record"], 3),
                    number(index.get("cpu_ms_per_record"), 3),
                    ratio(load["cpu_ms_per_record"], index.get("cpu_ms_per_record")),
                )
            )
        out.append(
            (
                "load",
                "peak RSS MB",
                number(load["peak_rss_mb"]),
                number(index.get("peak_rss_mb")),
                "",
            )
        )
        out.append(
            (
                "load",
                "store MB on disk",
                number(load["store_mb"]),
                number(index.get("register_mb")),
                ratio(load["store_mb"], index.get("register_mb")),
            )
        )
    for protocol, label in (("sru", "SRU"), ("z3950", "Z39.50")):
        section = result.get(protocol)
        if not section:
            continue
        ours = section.get("gateway", {})
        theirs = section.get("zebra", {})
        for kind, levels in ours.items():
            for clients, figures in levels.items():
                other = theirs.get(kind, {}).get(clients)
                out.append(
                    (
                        f"{label} {KIND_NAMES.get(kind, kind)}, {clients} client{'s' if clients != '1' else ''}",
                        "search + 10 records (p50 / p99; server CPU per query)",
                        _search_cell(figures),
                        _search_cell(other),
                        ratio(figures["per_second"], other["per_second"] if other else None),
                    )
                )
    oai = result.get("oai")
    if oai:
        full = oai["full"]
        out.append(
            (
                "OAI-PMH full harvest",
                "records/s (1,000 a page)",
                number(full["records_per_second"]),
                "",
                "",
            )
        )
        if full.get("server_cpu_us_per_record") is not None:
            out.append(
                (
                    "OAI-PMH full harvest",
                    "server CPU µs per record (every process)",
                    number(full["server_cpu_us_per_record"], 1),
                    "",
                    "",
                )
            )
        out.append(
            (
                "OAI-PMH full harvest",
                "server RSS MB before / peak (anonymous part)",
                f"{number(oai.get('server_rss_before_mb'))} / {number(full['server_peak_rss_mb'])}"
                + (
                    f" ({number(oai.get('server_anon_before_mb'))} / "
                    f"{number(full['server_peak_anon_mb'])})"
                    if "server_peak_anon_mb" in full
                    else ""
                ),
                "",
                "",
            )
        )
        inc = oai.get("incremental")
        if inc:
            out.append(
                (
                    "OAI-PMH from/until harvest",
                    "records, records/s",
                    f"{number(inc['records'])}, {number(inc['records_per_second'])}",
                    "",
                    "",
                )
            )
    xserver = result.get("xserver")
    if xserver:
        out.append(
            (
                f"X-server, {xserver.get('writers', 50)} writers",
                "update-doc saved/s (conflicts)",
                f"{number(xserver['saved_per_second'])} ({xserver['conflicts']})",
                "",
                "",
            )
        )
        out.append(
            (
                f"X-server, {xserver.get('writers', 50)} writers",
                "find-doc + update-doc p50 / p99 ms",
                f"{number(xserver['p50_ms'], 1)} / {number(xserver['p99_ms'], 1)}",
                "",
                "",
            )
        )
        for key, measure in (
            ("server_cpu_ms_per_cycle", "server CPU ms per find-doc + update-doc"),
            ("client_cpu_ms_per_cycle", "the writers' own CPU ms per cycle (same cores)"),
        ):
            if xserver.get(key) is not None:
                out.append(
                    (
                        f"X-server, {xserver.get('writers', 50)} writers",
                        measure,
                        number(xserver[key], 2),
                        "",
                        "",
                    )
                )
    sftp = result.get("sftp")
    if sftp:
        out.append(
            (
                f"SFTP publishing file, {number(sftp['records'])} records",
                "seconds to applied",
                number(sftp["seconds_to_applied"], 1),
                "",
                "",
            )
        )
    server = result.get("server")
    if server:
        out.append(
            (
                "gateway process",
                "RSS MB idle / peak (anonymous at the end)",
                f"{number(server.get('idle_rss_mb'))} / {number(server.get('peak_rss_mb'))}"
                + (
                    f" ({number(server['final_anon_mb'])})"
                    if server.get("final_anon_mb") is not None
                    else ""
                ),
                "",
                "",
            )
        )
    if not zebra.get("available"):
        # Zebra did not run: its column stays empty rather than full of dashes.
        out = [(workload, measure, ours, "", "") for workload, measure, ours, _, _ in out]
    return out


def text_table(table: Sequence[Row]) -> str:
    lines = [HEADER, *table]
    widths = [max(len(row[i]) for row in lines) for i in range(len(HEADER))]
    rendered = []
    for n, row in enumerate(lines):
        rendered.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            rendered.append("  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def markdown_table(table: Sequence[Row]) -> str:
    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"

    return "\n".join([line(HEADER), "|---|---|--:|--:|--:|", *(line(r) for r in table)])


def machine_line(result: dict[str, Any]) -> str:
    m = result.get("machine", {})
    v = result.get("versions", {})
    zebra = f", Zebra {v['zebra']}" if v.get("zebra") else ""
    workers = result.get("settings", {}).get("workers", 1)
    return (
        f"{number(result.get('count'))} records (seed {result.get('seed')}), {result.get('date')}; "
        f"gateway with {workers} worker process{'es' if workers != 1 else ''}; "
        f"{m.get('cores')} cores, {number(m.get('memory_mb'))} MB, {m.get('cpu_model')}; "
        f"Python {v.get('python')}, SQLite {v.get('sqlite')}{zebra}"
    )


def speed_line(result: dict[str, Any]) -> str:
    """The host's speed before each timed step (`system.python_loop_ms`: lower is faster)."""
    steps = [
        f"{step} {number(settled['python_loop_ms'])}"
        for step, settled in (result.get("settled") or {}).items()
        if isinstance(settled, dict) and settled.get("python_loop_ms") is not None
    ]
    if not steps:
        return "Host speed: not measured"
    return (
        "Host speed before each step (CPU ms of a fixed loop of Python, lower is faster): "
        + ", ".join(steps)
    )


ScaleRow = tuple[str, ...]


def _dig(result: dict[str, Any], *keys: str) -> Any:
    value: Any = result
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# What the scale run compares (issue: lookups should stay flat, harvest memory constant).
SCALE_MEASURES: tuple[tuple[str, tuple[str, ...], int], ...] = (
    ("load records/s", ("load", "records_per_second"), 0),
    ("load peak RSS MB", ("load", "peak_rss_mb"), 0),
    ("store MB on disk", ("load", "store_mb"), 0),
    ("SRU ISBN lookup, 1 client, p50 ms", ("sru", "gateway", "isbn", "1", "p50_ms"), 2),
    ("SRU ISBN lookup, 1 client, p99 ms", ("sru", "gateway", "isbn", "1", "p99_ms"), 2),
    ("Z39.50 ISBN lookup, 1 client, p99 ms", ("z3950", "gateway", "isbn", "1", "p99_ms"), 2),
    ("OAI-PMH harvest records/s", ("oai", "full", "records_per_second"), 0),
    ("OAI-PMH harvest server peak RSS MB", ("oai", "full", "server_peak_rss_mb"), 0),
    ("OAI-PMH harvest server peak anonymous RSS MB", ("oai", "full", "server_peak_anon_mb"), 0),
    ("gateway peak RSS MB", ("server", "peak_rss_mb"), 0),
)


def scale_table(results: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of the scale measures, one column per run (e.g. 100 k and 1 M records)."""
    header = ["Measure", *(f"{number(r.get('count'))} records" for r in results)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "--:|" * len(results)]
    for label, keys, digits in SCALE_MEASURES:
        cells = [number(_dig(r, *keys), digits) for r in results]
        if any(cell != "–" for cell in cells):
            lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines)
