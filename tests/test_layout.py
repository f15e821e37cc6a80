"""The house's shape, checked by reading the code: imports only run down the layers (the lazy
`fmkit/__init__.py` excepted), capabilities never import each other, only io/ asks whether a
location is remote, and no function outgrows ~60 lines (command option declarations excepted).
README.md's "For contributors" map draws the same layers."""

from __future__ import annotations

import ast

from conftest import REPO

FMKIT = REPO / "fmkit"
# Lowest first. A module may import from its own layer or the ones below, never above.
LAYERS = [
    ("base", ["errors", "environment", "gc_pause", "options", "i18n", "seeds", "settings", "interrupts", "hardware"]),
    ("support", ["io", "profiles", "model_files", "yolo_checkpoints", "output", "configs"]),
    ("catalog", ["catalog", "model_map"]),
    ("shared by capabilities", ["runs", "render"]),
    ("capabilities", ["bert", "generate", "diffuse", "detect", "segment"]),
    ("services", ["cluster", "gallery", "bucket"]),
    ("agent", ["agent"]),
    ("session", ["api", "api_setup", "doctor"]),
    ("front ends", ["commands", "cli", "__main__"]),
]
CAPABILITIES = dict(LAYERS)["capabilities"]


def _place(module: str) -> tuple[int, str] | None:
    """(layer index, top-level part) of 'fmkit.x.y', or None for fmkit itself."""
    parts = module.split(".")
    if parts[0] != "fmkit" or len(parts) < 2:
        return None
    for i, (_, names) in enumerate(LAYERS):
        if parts[1] in names:
            return i, parts[1]
    raise AssertionError(f"{module} is in no layer: place it in tests/test_layout.py and the README's map")


def _modules():
    for path in sorted(FMKIT.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.AST):
    """fmkit modules imported anywhere (inside functions too), but not under `if TYPE_CHECKING:`."""
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names if a.name.startswith("fmkit."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("fmkit"):
            for a in node.names:  # `from fmkit import io` names a module; `from fmkit import __version__` does not
                submodule = (FMKIT / f"{a.name}.py").exists() or (FMKIT / a.name).is_dir()
                yield (f"fmkit.{a.name}" if node.module == "fmkit" and submodule else node.module), node.lineno


def test_imports_only_run_down_and_capabilities_never_import_each_other():
    wrong = []
    for name, path, tree in _modules():
        me = _place(name)
        if me is None:
            continue  # fmkit/__init__.py: the lazy public API may name anything
        for target, line in _imports(tree):
            other = _place(target)
            if other is None:
                continue
            up = other[0] > me[0]
            sideways = other[0] == me[0] and me[1] in CAPABILITIES and other[1] != me[1]
            if up or sideways:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert wrong == [], "\n".join(wrong)


def test_only_io_asks_whether_a_location_is_remote():
    found = [f"{path.relative_to(REPO)}" for name, path, tree in _modules()
             if not name.startswith("fmkit.io") and ("is_remote(" in ast.unparse(tree) or ".remote" in ast.unparse(tree))]
    assert found == []


def test_no_function_outgrows_sixty_lines():
    long = [f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for name, path, tree in _modules() if not name.startswith("fmkit.commands")
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > 60]
    assert long == [], "\n".join(long)


def test_every_file_that_is_not_python_ships_in_the_wheel():
    """A page, style or script read with importlib.resources must be listed in pyproject's
    package-data, or an installed (not editable) fmkit lacks it."""
    import fnmatch

    import tomllib

    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: REPO / setup.get("package-dir", {}).get(name, name.replace(".", "/"))
               for name in setup["packages"]}
    data = setup["package-data"]
    missing = []
    for path in sorted(FMKIT.rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        package = next((n for n, f in folders.items() if f == path.parent), None)
        if package is None or not any(fnmatch.fnmatch(path.name, g) for g in data.get(package, [])):
            missing.append(str(path.relative_to(REPO)))
    assert not missing, f"not in pyproject's packages/package-data: {missing}"
