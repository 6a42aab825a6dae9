"""The report as one self-contained HTML page, rendered from the Jinja2 templates in
``romcam/report/templates/`` (autoescaped): inline CSS, figures as ``data:`` URIs, no scripts.

The same page is printed to PDF by :mod:`romcam.report.pdf`; its stylesheet (``report.css``) holds
the A4 page rules, so the HTML file and the PDF show the same page."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from romcam import __version__
from romcam.report.model import METHOD_TEXT, Report, SYNTHETIC_TEXT


@dataclass(frozen=True)
class ShownFigure:
    """A figure as the page shows it: its number ("Figure 2.") and its image as a data: URI."""

    number: int
    uri: str


def data_value(value: Any) -> str:
    """The exact stored value as an attribute: repr of floats (round-trips), '' for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def data_uri(image: bytes) -> str:
    """An SVG or PNG image as a base64 ``data:`` URI (the page fetches nothing)."""
    kind = "png" if image.startswith(b"\x89PNG") else "svg+xml"
    return f"data:image/{kind};base64," + base64.b64encode(image).decode("ascii")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("romcam.report", "templates"),
                      autoescape=select_autoescape(["html", "html.j2"], default=True),
                      undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False,
                      keep_trailing_newline=True)
    env.filters["data_value"] = data_value
    return env


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The page's CSS (screen and print), inlined into every page."""
    return resources.files("romcam.report").joinpath("templates/report.css").read_text("utf-8")


def render_html(report: Report, images: dict[str, bytes], generated_at: str) -> str:
    """The whole page: inline CSS, images embedded, nothing fetched from anywhere. Figures are
    numbered in page order; a figure without an image is left out."""
    keys = [f.key for s in report.sections for f in s.figures if f.key in images]
    figures = {key: ShownFigure(n, data_uri(images[key])) for n, key in enumerate(keys, 1)}
    return _environment().get_template("report.html.j2").render(
        report=report, figures=figures, css=stylesheet(), version=__version__,
        generated_at=generated_at, synthetic_text=SYNTHETIC_TEXT, method_text=METHOD_TEXT)
