"""The report as one self-contained HTML page: inline CSS, figures as ``data:`` URIs, no scripts."""

from __future__ import annotations

import base64
import html
from typing import Any

from romcam import __version__
from romcam.report.model import Cell, FigureItem, METHOD_TEXT, Report, SYNTHETIC_TEXT, Section, Table


CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111;
       background: #fff; margin: 0; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 28px 0 8px; border-bottom: 2px solid #333; padding-bottom: 3px; }
p.subtitle { margin: 0 0 12px; color: #333; }
p { line-height: 1.4; margin: 6px 0; }
.banner { border: 2px dashed #000; padding: 8px 12px; font-weight: bold; margin: 10px 0; }
table { border-collapse: collapse; margin: 10px 0; font-size: 0.9em; }
table.data th, table.data td { border: 1px solid #888; padding: 3px 7px; text-align: right; }
table.data th { background: #eee; text-align: center; }
table.data td[data-key="verdict"], table.data td[data-key="side"],
table.data td[data-key="status"], table.data th:first-child { text-align: left; }
table.data td[data-key="started_at"] { white-space: nowrap; text-align: left; }
table.data td[data-key="verdict"] { min-width: 14em; }
table.facts td { border-bottom: 1px solid #ccc; padding: 3px 12px 3px 0; vertical-align: top; }
table.facts td:first-child { color: #333; }
figure { margin: 12px 0 18px; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #333; margin-top: 4px; }
ul.warnings li { margin: 3px 0; }
footer { margin-top: 32px; font-size: 0.8em; color: #444; border-top: 1px solid #999;
         padding-top: 6px; }
@page { size: A4; margin: 12mm; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table { break-inside: avoid; page-break-inside: avoid; }
}
"""


def _attrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{html.escape(str(v), quote=True)}"' for k, v in attrs.items())


def _data_value(value: Any) -> str:
    """The exact stored value as an attribute: repr of floats (round-trips), '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _cell_html(cell: Cell, tag: str = "td") -> str:
    if cell.key == "label":
        return f"<{tag}>{html.escape(cell.text)}</{tag}>"
    attrs = {"data-key": cell.key, "data-value": _data_value(cell.value)}
    return f"<{tag}{_attrs(attrs)}>{html.escape(cell.text)}</{tag}>"


def _table_html(table: Table) -> str:
    head = ""
    if any(table.headers):
        head = "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.headers) \
               + "</tr></thead>"
    body = "".join(f"<tr{_attrs(attrs)}>" + "".join(_cell_html(c) for c in cells) + "</tr>"
                   for attrs, cells in table.rows)
    return f'<table class="{table.css}">{head}<tbody>{body}</tbody></table>'


def _figure_html(item: FigureItem, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{html.escape(item.key)}"><img alt="{html.escape(item.caption)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(item.caption)}'
            f'</figcaption></figure>')


def _section_html(section: Section, pngs: dict[str, bytes]) -> str:
    parts = [f'<section id="{html.escape(section.id)}"><h2>{html.escape(section.title)}</h2>']
    parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
    if section.items:
        parts.append('<ul class="warnings">' + "".join(
            f"<li>{html.escape(item)}</li>" for item in section.items) + "</ul>")
    parts += [_table_html(t) for t in section.tables]
    parts += [_figure_html(f, pngs[f.key]) for f in section.figures if f.key in pngs]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report, pngs: dict[str, bytes], generated_at: str) -> str:
    """The whole page: inline CSS, images embedded, nothing fetched from anywhere."""
    banner = f'<div class="banner">{html.escape(SYNTHETIC_TEXT)}</div>' if report.synthetic else ""
    body = "\n".join(_section_html(s, pngs) for s in report.sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape('romcam - ' + report.title)}</title>\n<style>{CSS}</style>\n"
        f"</head>\n<body data-report=\"{report.kind}\">\n<main>\n"
        f"<h1>{html.escape(report.title)}</h1>\n"
        f"<p class=\"subtitle\">{html.escape(report.subtitle)}</p>\n{banner}\n{body}\n"
        f"<footer>Made by romcam {html.escape(__version__)} on {html.escape(generated_at)}. "
        f"{html.escape(METHOD_TEXT)}</footer>\n</main>\n</body>\n</html>\n")
