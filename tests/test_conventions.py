"""Layering and style rules of docs/architecture.md, checked by scanning the source (not by memory)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from memtwin_testing import ROOT

PY_FILES = sorted(p for d in ("twin", "firmware", "memtwin", "bench", "examples", "tests") for p in (ROOT / d).rglob("*.py"))
LIB_FILES = [p for p in PY_FILES if p.parts[len(ROOT.parts)] in ("twin", "firmware", "memtwin")]


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _violations(files, rule) -> list[str]:
    return [f"{_module(p)} imports {name}" for p in files for name in sorted(_imports(p)) if rule(_module(p), name)]


def test_physics_imports_only_numpy_numba_and_physics():
    files = [p for p in LIB_FILES if _module(p).startswith("twin.physics")]
    third_party = ("simpy", "structlog", "yaml", "scipy", "firmware")
    bad = _violations(files, lambda m, n: n.split(".")[0] in third_party
                      or (n.startswith("twin") and not n.startswith("twin.physics")))
    assert bad == []


def test_foundations_import_neither_simpy_nor_numba():
    found = ("twin.units", "twin.errors", "twin.rng", "twin.spec")
    files = [p for p in LIB_FILES if _module(p).startswith(found)]
    assert _violations(files, lambda m, n: n.split(".")[0] in ("simpy", "numba")) == []


def test_commands_import_only_foundations():
    files = [ROOT / "twin" / "commands.py"]
    # plus the one-pass input scan kernel (stateless, on plain arrays; physics imports nothing of twin's)
    allowed = ("twin.spec", "twin.units", "twin.errors", "twin.physics.scan")
    assert _violations(files, lambda m, n: n.startswith("twin") and not n.startswith(allowed)) == []


def test_only_model_modules_import_simpy():
    model = {"twin.chip", "twin.tile", "twin.hostlink", "twin.ledger", "twin.trace", "twin.array", "twin.periphery",
             "twin.log.replayer"}
    assert _violations(LIB_FILES, lambda m, n: n.split(".")[0] == "simpy" and m not in model
                       and not m.startswith(("firmware", "memtwin"))) == []
    assert _violations([ROOT / "twin" / "controller.py"], lambda m, n: n.split(".")[0] == "simpy") == []


def test_firmware_uses_the_twin_only_through_its_public_api():
    internal = ("twin.array", "twin.physics", "twin.devices", "twin.tile", "twin.chip", "twin.controller")
    files = [p for p in LIB_FILES if _module(p).startswith("firmware")]
    assert _violations(files, lambda m, n: n.startswith(internal)) == []


def test_twin_never_imports_firmware():
    files = [p for p in LIB_FILES if _module(p).startswith("twin")]
    assert _violations(files, lambda m, n: n.split(".")[0] in ("firmware", "memtwin")) == []


def test_nothing_below_the_application_imports_it():
    """memtwin (CLI, demo, plots, calibration lab) sits on top: twin and firmware never import it."""
    files = [p for p in LIB_FILES if not _module(p).startswith("memtwin")]
    assert _violations(files, lambda m, n: n.split(".")[0] == "memtwin") == []


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def test_no_print_in_library_code():
    """Only the command-line modules (memtwin/cli.py, memtwin/*_cli.py) print."""
    bad = [_module(p) for p in LIB_FILES for _, f in _calls(p)
           if f == "print" and not (_module(p).startswith("memtwin.") and _module(p).endswith("cli"))]
    assert bad == []


def test_every_njit_caches_and_never_uses_fastmath():
    bad = []
    for p in LIB_FILES:
        for node in ast.walk(ast.parse(p.read_text())):
            decorators = getattr(node, "decorator_list", [])
            for d in decorators:
                text = ast.unparse(d)
                if "njit" in text or "numba.jit" in text:
                    if "cache=True" not in text or "fastmath" in text:
                        bad.append(f"{_module(p)}.{node.name}: {text}")
    assert bad == []


@pytest.mark.parametrize("path", PY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_legacy_numpy_random_and_no_unsafe_yaml(path):
    ok_random = {"default_rng", "SeedSequence", "Generator", "PCG64"}
    for node, func in _calls(path):
        target = node.func
        if isinstance(target, ast.Attribute) and ast.unparse(target.value) in ("np.random", "numpy.random"):
            assert target.attr in ok_random, f"{path.name}:{node.lineno}: {func} (use a numpy Generator)"
        assert func != "yaml.load", f"{path.name}:{node.lineno}: yaml.load (use yaml.safe_load)"


def test_structlog_is_configured_only_by_the_application_helper():
    bad = [_module(p) for p in LIB_FILES for _, f in _calls(p) if f == "structlog.configure"
           and _module(p) != "twin.logconfig"]
    assert bad == []
