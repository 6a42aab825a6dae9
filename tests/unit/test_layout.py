"""The house: every stage package imports, no lower stage imports a higher one (read from the
source with ``ast``, function-local imports included), and no module is over 600 lines."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "romcam"
# Low -> high. A module may import its own stage and the stages before it, never one after it.
STAGES = ("base", "capture", "measure", "calibration", "storage", "session", "report", "cli")
PACKAGES = STAGES[1:]
MAX_LINES = 600


def stage_of(module: str) -> str:
    """The stage of a dotted romcam module name: its first package, else base (errors, dirs,
    files, timestamps, the version). ``romcam.__main__`` is the command, so it counts as cli."""
    parts = module.split(".")
    if parts[0] != "romcam":
        raise ValueError(module)
    if len(parts) > 1 and parts[1] in PACKAGES:
        return parts[1]
    if len(parts) > 1 and parts[1] == "__main__":
        return "cli"
    return "base"


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def romcam_imports(source: str, module: str, is_package: bool) -> list[str]:
    """Every romcam module ``source`` imports, anywhere in it (functions too). ``from romcam.x
    import y`` names ``romcam.x.y`` when y is a submodule, else ``romcam.x``."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "romcam"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "romcam":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append(sub if _is_module(sub) else target)
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """'<module> (<stage>) imports <target> (<stage>)' for each import of a higher stage."""
    own = STAGES.index(stage_of(module))
    return [f"{module} ({STAGES[own]}) imports {target} ({stage_of(target)})"
            for target in romcam_imports(source, module, is_package)
            if STAGES.index(stage_of(target)) > own]


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_stage_package_imports(package):
    mod = importlib.import_module(f"romcam.{package}")
    assert mod.__doc__ and "import" in mod.__doc__, f"romcam.{package} should say what it may import"


def test_no_lower_stage_imports_a_higher_one():
    offending = []
    for path in modules():
        offending += upward_imports(path.read_text(encoding="utf-8"), module_name(path),
                                    path.name == "__init__.py")
    assert not offending, "imports that run up the stages:\n" + "\n".join(offending)


def test_the_check_sees_function_local_and_package_imports():
    source = "import numpy\nfrom romcam import files\ndef f():\n    from romcam.cli import main\n" \
             "    from romcam import report\n"
    assert upward_imports(source, "romcam.measure.angles") == [
        "romcam.measure.angles (measure) imports romcam.cli.main (cli)",
        "romcam.measure.angles (measure) imports romcam.report (report)"]
    assert upward_imports("from romcam.measure.outcome import side_outcome", "romcam.storage.store") == []
    assert upward_imports("from ..session import runner", "romcam.storage.store") == [
        "romcam.storage.store (storage) imports romcam.session.runner (session)"]


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
