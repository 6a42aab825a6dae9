"""The report's PDF: the HTML page itself, printed on A4 by WeasyPrint (an HTML/CSS layout engine
in Python; no browser). The page's stylesheet holds the print rules (``@page`` size and margins,
running header and page numbers, no table or figure split across pages), and WeasyPrint embeds
the fonts it uses, so the PDF reads the same on any computer."""

from __future__ import annotations

from pathlib import Path

from romcam.errors import RomcamError

INSTALL_HINT = ("pip install weasyprint; it needs the Pango library: on Debian/Ubuntu "
                "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0")


def _weasyprint():
    """The weasyprint module, or one clear error when it (or its system libraries) are missing."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:       # OSError: Pango/HarfBuzz not found by cffi
        raise RomcamError(f"cannot write a PDF: WeasyPrint is not usable here ({_first_line(exc)}) "
                          f"({INSTALL_HINT}), or leave out --pdf") from None
    return weasyprint


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


def check_pdf_writer() -> None:
    """Fail early (before any long work) when the PDF cannot be made on this computer."""
    _weasyprint()


def write_pdf(html_text: str, path: Path, title: str) -> None:
    """Print the HTML page (self-contained: nothing to fetch) to a PDF file at ``path``."""
    weasyprint = _weasyprint()
    document = weasyprint.HTML(string=html_text, base_url=None).render()
    document.metadata.title = title
    document.metadata.generator = "romcam (WeasyPrint)"
    document.write_pdf(path)
