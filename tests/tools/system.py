"""The system tools some integration tests need: poppler's pdftotext and pdftoppm, LibreOffice's
soffice, Chromium, Xvfb and xdotool, PostgreSQL's server binaries, and the Pango libraries
WeasyPrint prints with.

``require_tool(...)`` returns a tool's path, or skips the test with the reason and the Debian
package to install. With ``ROMCAM_REQUIRE_SYSTEM_TOOLS=1`` (``.ci/run`` sets it) a missing tool
fails the test instead, and the two hooks below (imported into ``tests/conftest.py``) turn every
other skip, of a test or of a whole module, into a failure too: CI cannot pass with a test left out.

``ROMCAM_TOOLS_PATH``, when set, is the only place tools are looked for (instead of ``PATH`` and
the well-known folders): ``ROMCAM_TOOLS_PATH=/nonexistent pytest`` runs the tests as on a machine
without any of them.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

STRICT = "ROMCAM_REQUIRE_SYSTEM_TOOLS"
TOOLS_PATH = "ROMCAM_TOOLS_PATH"


def strict() -> bool:
    """True when a missing tool (and any skip) must fail the test (CI)."""
    return os.environ.get(STRICT, "").strip() not in ("", "0")


def missing(reason: str) -> NoReturn:
    """Skip the running test with ``reason``; a failure under ROMCAM_REQUIRE_SYSTEM_TOOLS=1."""
    __tracebackhide__ = True                  # the report names the test's line, not this one
    if strict():
        pytest.fail(f"{reason} ({STRICT}=1: a missing tool is a failure)", pytrace=False)
    pytest.skip(reason)


def find_tool(*names: str, also_in: tuple[str, ...] = ()) -> str | None:
    """The path of the first of ``names`` found on PATH, then in the folders ``also_in``; only in
    ROMCAM_TOOLS_PATH when that is set. None when none is found."""
    override = os.environ.get(TOOLS_PATH)
    search = override if override is not None else os.pathsep.join(
        [os.environ.get("PATH", os.defpath), *also_in])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def require_tool(*names: str, package: str, also_in: tuple[str, ...] = ()) -> str:
    """The path of the first of ``names`` found (see :func:`find_tool`), or the test is skipped
    naming the Debian ``package`` that brings it (failed under ROMCAM_REQUIRE_SYSTEM_TOOLS=1)."""
    __tracebackhide__ = True
    found = find_tool(*names, also_in=also_in)
    if found is None:
        missing(f"{' / '.join(names)} not found: install the Debian package {package} (.ci/run does)")
    return found


def require_pango() -> None:
    """Skip (fail under ROMCAM_REQUIRE_SYSTEM_TOOLS=1) unless WeasyPrint can load Pango here."""
    __tracebackhide__ = True
    from romcam.errors import RomcamError
    from romcam.report.pdf import check_pdf_writer

    if os.environ.get(TOOLS_PATH) is not None:
        missing(f"Pango treated as missing ({TOOLS_PATH} is set)")
    try:
        check_pdf_writer()
    except RomcamError as exc:
        missing(str(exc))


def _fail_if_skipped(report) -> None:
    if strict() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, and {STRICT}=1 forbids skips: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under ROMCAM_REQUIRE_SYSTEM_TOOLS=1, a skipped test is reported as failed, with its reason."""
    outcome = yield
    _fail_if_skipped(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """Under ROMCAM_REQUIRE_SYSTEM_TOOLS=1, a module skipped at collection is an error."""
    outcome = yield
    _fail_if_skipped(outcome.get_result())
