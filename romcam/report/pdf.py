"""The report's text pages for the PDF (matplotlib, no browser needed)."""

from __future__ import annotations

import textwrap

from romcam.report import plots
from romcam.report.model import PDF_LINES_PER_PAGE, Report, SYNTHETIC_TEXT, Table


def report_text_lines(report: Report) -> list[str]:
    """The report's text and tables as plain lines (the PDF's first pages)."""
    lines = [report.title, report.subtitle, ""]
    if report.synthetic:
        lines += [SYNTHETIC_TEXT, ""]
    for section in report.sections:
        lines += [section.title.upper()]
        for p in section.paragraphs:
            lines += textwrap.wrap(p, 100) or [""]
        lines += [f"- {line}" for item in section.items
                  for line in textwrap.wrap(item, 98, subsequent_indent="  ")]
        for table in section.tables:
            lines += _table_text(table)
        lines.append("")
    return lines


TEXT_ONLY_COLUMNS = ("verdict", "status")   # printed on a line of their own under each row


def _table_text(table: Table) -> list[str]:
    """A table as fixed-width text: numbers in right-aligned columns under wrapped headers,
    the long text columns (verdict, status) on an indented line below each row."""
    if table.css == "facts":
        return [f"{cells[0].text:<36} {cells[1].text}" for _, cells in table.rows]
    keep = [i for i, h in enumerate(table.headers) if h not in TEXT_ONLY_COLUMNS]
    moved = [i for i, h in enumerate(table.headers) if h in TEXT_ONLY_COLUMNS]
    heads = [_header_lines(table.headers[i]) for i in keep]
    rows = [[cells[i].text for i in keep] for _, cells in table.rows]
    widths = [max([len(x) for x in head] + [len(r[k]) for r in rows])
              for k, head in enumerate(heads)]
    depth = max(len(h) for h in heads)
    out = []
    for line in range(depth):
        out.append("  ".join(_pad(head[line] if line < len(head) else "", w, k == 0)
                             for k, (head, w) in enumerate(zip(heads, widths))).rstrip())
    for (_, cells), row in zip(table.rows, rows):
        out.append("  ".join(_pad(c, w, k == 0) for k, (c, w) in enumerate(zip(row, widths))))
        if moved:
            out.append("    " + "; ".join(cells[i].text for i in moved))
    return out


def _header_lines(header: str) -> list[str]:
    """A column header over several short lines: the words, then the unit, e.g. ['before', '(deg)']."""
    words, _, unit = header.partition(" (")
    return (textwrap.wrap(words, 11) or [""]) + ([f"({unit}"] if unit else [])


def _pad(text: str, width: int, left: bool) -> str:
    return text.ljust(width) if left else text.rjust(width)


def _text_pages(lines: list[str]):
    """A4 pages of monospaced text (matplotlib Figures)."""
    for start in range(0, max(len(lines), 1), PDF_LINES_PER_PAGE):
        fig = plots.new_figure(8.27, 11.69)
        fig.set_layout_engine("none")
        chunk = lines[start:start + PDF_LINES_PER_PAGE]
        fig.text(0.06, 0.96, "\n".join(chunk), va="top", ha="left", family="monospace",
                 fontsize=7.2, linespacing=1.25)
        yield fig
