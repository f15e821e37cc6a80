"""bert/ and render/ depend on each other one way only: results (bert/) call render/ lazily, inside
the methods that show or save them; render/ names bert's result classes for type hints alone
(under `typing.TYPE_CHECKING`) and draws what the results hold. No import cycle can form."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(source: str, package: str) -> list[tuple[int, str, bool]]:
    """Every import in `source` (a module of `package`): (line, module imported, at module level),
    leaving out those under `if TYPE_CHECKING:`."""
    found = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other, top)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:  # relative: resolve against the package
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    name = f"{base}.{child.module}" if child.module else base
                else:
                    name = child.module or ""
                found.extend((child.lineno, f"{name}.{a.name}" if not child.module else name, top)
                             for a in child.names)
            inner = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, top and not inner)

    visit(ast.parse(source), True)
    return found


def _modules(package: str):
    folder = REPO.joinpath(*package.split("."))
    return sorted(folder.glob("*.py"))


def _naming(package: str, target: str, module_level_only: bool) -> list[str]:
    bad = []
    for path in _modules(package):
        for line, name, top in imports(path.read_text(encoding="utf-8"), package):
            if (name == target or name.startswith(target + ".")) and (top or not module_level_only):
                bad.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    return bad


def test_render_never_imports_bert_outside_type_checking():
    assert _naming("fmkit.render", "fmkit.bert", module_level_only=False) == []


def test_bert_imports_render_only_inside_the_methods_that_draw():
    assert _naming("fmkit.bert", "fmkit.render", module_level_only=True) == []


def test_the_scanner_sees_runtime_imports_and_skips_type_hints():
    """Control: the checks above can fail."""
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fmkit.bert.attention import A\n"
              "from ..bert import positional\nimport fmkit.bert.tokenizer\n"
              "def draw(r):\n    from fmkit.bert.positional import BASE\n")
    names = [(line, name, top) for line, name, top in imports(source, "fmkit.render") if "bert" in name]
    assert names == [(4, "fmkit.bert", True), (5, "fmkit.bert.tokenizer", True),
                     (7, "fmkit.bert.positional", False)]


def test_importing_every_render_module_loads_no_bert_module():
    """The same, at run time: a fresh interpreter imports all of render/ and finds no fmkit.bert."""
    names = [f"fmkit.render.{p.stem}" for p in _modules("fmkit.render") if p.stem != "__init__"]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('fmkit.bert')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
