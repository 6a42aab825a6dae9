"""tests/tools/system.py: a missing system tool skips a test with its reason, and under
ROMCAM_REQUIRE_SYSTEM_TOOLS=1 (CI) that skip, and any other, is a failure instead."""

from __future__ import annotations

import shutil

import pytest

import system

INNER_CONFTEST = "from system import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401\n"
INNER_TESTS = '''
import pytest
from system import require_tool


def test_needs_a_missing_tool():
    require_tool("romcam-no-such-tool", package="romcam-nothing")


def test_needs_sh():
    assert require_tool("sh", package="dash").endswith("/sh")


def test_skips_for_another_reason():
    pytest.skip("no tmpfs here")


@pytest.mark.xfail(strict=True, reason="a known failure")
def test_known_failure():
    assert False
'''


@pytest.fixture
def inner(pytester, monkeypatch):
    monkeypatch.delenv(system.STRICT, raising=False)
    monkeypatch.delenv(system.TOOLS_PATH, raising=False)
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TESTS)
    return pytester


def test_a_missing_tool_skips_with_its_reason(inner):
    result = inner.runpytest("-ra")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
    result.stdout.fnmatch_lines(["*SKIPPED*romcam-no-such-tool not found: install the Debian package "
                                 "romcam-nothing*"])


def test_the_strict_flag_turns_every_skip_into_a_failure(inner, monkeypatch):
    monkeypatch.setenv(system.STRICT, "1")
    result = inner.runpytest("-ra")
    result.assert_outcomes(passed=1, failed=2, xfailed=1)
    result.stdout.fnmatch_lines(["*romcam-no-such-tool not found*ROMCAM_REQUIRE_SYSTEM_TOOLS=1*",
                                 "*ROMCAM_REQUIRE_SYSTEM_TOOLS=1 forbids skips*no tmpfs here*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_module_skipped_at_collection_is_an_error_under_the_strict_flag(pytester, monkeypatch):
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_gone='import pytest\npytest.importorskip("romcam_no_such_module")\n'
                                  'def test_x():\n    pass\n')
    monkeypatch.delenv(system.STRICT, raising=False)
    pytester.runpytest().assert_outcomes(skipped=1)
    monkeypatch.setenv(system.STRICT, "1")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*forbids skips*romcam_no_such_module*"])


def test_the_tools_path_hides_tools_found_on_path(tmp_path, monkeypatch):
    monkeypatch.delenv(system.STRICT, raising=False)
    monkeypatch.setenv(system.TOOLS_PATH, str(tmp_path))
    assert shutil.which("sh") and system.find_tool("sh") is None
    with pytest.raises(pytest.skip.Exception, match="sh not found"):
        system.require_tool("sh", package="dash")
    (tmp_path / "sh").symlink_to(shutil.which("sh"))
    assert system.require_tool("sh", package="dash") == str(tmp_path / "sh")


def test_well_known_folders_are_searched_after_path(tmp_path, monkeypatch):
    monkeypatch.delenv(system.TOOLS_PATH, raising=False)
    tool = tmp_path / "romcam-only-here"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert system.find_tool("romcam-only-here") is None
    assert system.find_tool("romcam-only-here", also_in=(str(tmp_path),)) == str(tool)
