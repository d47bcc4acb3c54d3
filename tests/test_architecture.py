"""The layering of memokit, as tests (see "Layout" in the README).

- ``memokit/model/`` imports nothing else of memokit;
- the offline build (``memokit/build/``) imports no network or machine-learning code, and none
  of ``memokit.collect``, ``memokit.curate`` (the future homes of that code), ``memokit.serve``
  or ``memokit.cli``;
- ``memokit/serve/`` never imports ``memokit.cli``; ``memokit/console.py`` imports neither;
- ``import memokit.cli`` loads no heavy library, so the command line can fork its chart workers
  first (``memokit/build/vega.py``).

Each rule is checked statically, on every import statement of the source (``ast``, including
imports inside functions and under ``TYPE_CHECKING``, and ``importlib.import_module("…")`` with
a literal name), and, where it is about what a process loads, at run time in a fresh interpreter
that records who imported a forbidden module first. A violation names the file, the line, the
statement and what it imports.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "memokit"

#: What the offline build must never load: network clients, machine learning, and the parts of
#: memokit that hold them (``collect``, ``curate``) or that sit above the build (``serve``, ``cli``).
NETWORK_AND_ML = ("httpx", "requests", "urllib3", "sklearn", "scipy", "torch")
ABOVE_THE_BUILD = ("memokit.collect", "memokit.curate", "memokit.serve", "memokit.cli")
#: The standard library's network modules, which no module of the build imports itself.
STDLIB_NETWORK = ("socket", "ssl", "urllib.request", "http.client", "http.server", "ftplib", "smtplib")
#: What ``import memokit.cli`` must not load: the command line forks its chart workers before
#: these (and ``vega.start`` refuses to fork once vl_convert is loaded).
HEAVY = ("pandas", "numpy", "pydantic", "pydantic_core", "altair", "vl_convert")


# --- static: every import statement of the source ---------------------------------------------


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)
    assert files, f"no Python files under {folder}"
    return files


#: Every module and package of memokit (packages with or without ``__init__.py``).
KNOWN = {module_name(p) for p in source_files(PACKAGE)} | {
    ".".join(p.relative_to(ROOT).parent.parts) for p in source_files(PACKAGE)}


@dataclass(frozen=True)
class Import:
    """One imported module: where, the statement, and the module's absolute name."""

    path: Path
    line: int
    statement: str
    target: str  # the module imported (for ``from X import a``: X.a if that is a module of memokit, else X)
    full: str  # X.a for ``from X import a`` (it may be a name, not a module), else the target
    type_only: bool

    def __str__(self) -> str:
        return self.describe(self.target)

    def describe(self, what: str) -> str:
        where = " (under TYPE_CHECKING)" if self.type_only else ""
        return f"{self.path.relative_to(ROOT)}:{self.line}: `{self.statement}` imports {what}{where}"

    def touches(self, names: Iterable[str]) -> str | None:
        """The module of ``names`` (or a submodule of one) that this imports, if any."""
        names = tuple(names)
        for imported in (self.target, self.full):
            if any(imported == name or imported.startswith(name + ".") for name in names):
                return imported
        return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> list[Import]:
    """Every import in ``path``, at any depth, relative ones resolved."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def text(node: ast.AST) -> str:
        return " ".join((ast.get_source_segment(source, node) or ast.unparse(node)).split())

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import(path, node.lineno, text(node), alias.name, alias.name, type_only))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                assert node.level <= len(parts), f"{path}:{node.lineno}: relative import beyond the top package"
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in KNOWN else base
                found.append(Import(path, node.lineno, text(node), target, full, type_only))
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            target = node.args[0].value
            if target.startswith("."):  # import_module(".x", package) — relative to this package
                target = package + target
            found.append(Import(path, node.lineno, text(node), target, target, type_only))
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return found


def violations(folder_or_file: Path, forbidden: Iterable[str]) -> list[str]:
    files = source_files(folder_or_file) if folder_or_file.is_dir() else [folder_or_file]
    names = tuple(forbidden)
    return [i.describe(hit) for path in files for i in imports(path) if (hit := i.touches(names))]


def test_the_import_scanner_sees_every_kind_of_import() -> None:
    # The rules below are only as good as this scanner: check it on the shapes it must resolve.
    module = PACKAGE / "model" / "page.py"
    found = imports(module)
    assert any(i.target == "memokit.model.text" and i.statement == "from .text import SLUG" for i in found), found
    cli = {i.target for i in imports(PACKAGE / "cli.py")}
    assert {"memokit.build.vega", "memokit.console", "memokit.model.problems", "memokit.serve",
            "memokit.scaffold", "memokit.build.pipeline"} <= cli, cli
    assert any(i.type_only and i.target == "memokit.build.pipeline" for i in imports(PACKAGE / "cli.py"))


def test_the_model_imports_nothing_else_of_memokit() -> None:
    bad = [str(i) for path in source_files(PACKAGE / "model") for i in imports(path)
           if i.touches(["memokit"]) and not i.touches(["memokit.model"])]
    assert not bad, "memokit/model/ may import only memokit.model…:\n" + "\n".join(bad)


def test_no_module_of_the_build_imports_network_machine_learning_serve_or_cli_code() -> None:
    bad = violations(PACKAGE / "build", (*ABOVE_THE_BUILD, *NETWORK_AND_ML, *STDLIB_NETWORK))
    assert not bad, "memokit/build/ is the offline build; it may not import:\n" + "\n".join(bad)


def test_the_preview_never_imports_the_command_line() -> None:
    bad = violations(PACKAGE / "serve", ["memokit.cli"])
    assert not bad, "memokit/serve/ reports through memokit/console.py, never memokit.cli:\n" + "\n".join(bad)


def test_curating_imports_no_network_code_and_not_the_command_line() -> None:
    # memokit/curate/ may use the model, the build's reader and validation (the one check of the
    # data it adds to) and the preview's loopback rule; never collect (the network) or the CLI. It
    # serves the coding page on 127.0.0.1 (http.server) but makes no request of its own.
    outgoing = tuple(name for name in STDLIB_NETWORK if name not in ("socket", "http.server"))
    bad = violations(PACKAGE / "curate", ("memokit.cli", "memokit.collect", "httpx", "requests", "urllib3", *outgoing))
    assert not bad, "memokit/curate/ works offline and below the command line; it may not import:\n" + "\n".join(bad)
    allowed = ("memokit.model", "memokit.curate", "memokit.interrupt", "memokit.build.load", "memokit.build.validate",
               "memokit.serve.preview")
    beyond = [str(i) for path in source_files(PACKAGE / "curate") for i in imports(path)
              if i.touches(["memokit"]) and not i.touches(allowed) and i.target != "memokit"]
    assert not beyond, "memokit/curate/ reaches into more of memokit than it needs:\n" + "\n".join(beyond)


def test_the_console_imports_neither_the_command_line_nor_the_preview() -> None:
    bad = violations(PACKAGE / "console.py", ["memokit.cli", "memokit.serve"])
    assert not bad, "memokit/console.py serves both memokit.cli and memokit.serve, so imports neither:\n" + "\n".join(bad)


# --- at run time: what a fresh interpreter loads ----------------------------------------------

#: Run first in the subprocess: record, for each watched module, the code that imported it first.
WATCH = """
import json, sys, traceback
WATCHED = tuple(json.loads(sys.argv[1]))
_before = {m for m in sys.modules if any(m == w or m.startswith(w + ".") for w in WATCHED)}
_who = {}
class _Watch:
    def find_spec(self, name, path=None, target=None):
        if name not in _who and any(name == w or name.startswith(w + ".") for w in WATCHED):
            frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith("<")]
            _who[name] = [f"{f.filename}:{f.lineno}: {(f.line or '').strip()}" for f in frames][-4:]
        return None
sys.meta_path.insert(0, _Watch())
"""
REPORT = """
import memokit
print(json.dumps({"memokit": memokit.__file__, "modules": sorted(sys.modules), "who": _who,
                  "before": sorted(_before)}))
"""


def loaded(body: str, watched: Iterable[str], cwd: Path, *args: str) -> tuple[set[str], dict[str, list[str]]]:
    """Run ``body`` in a fresh interpreter on this checkout; return the modules it loaded and,
    for each watched one, the last frames of the code that imported it first."""
    watched = list(watched)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, "-c", WATCH + body + REPORT, json.dumps(watched), *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"the probe failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout.splitlines()[-1])
    assert Path(report["memokit"]).resolve().is_relative_to(PACKAGE), f"imported memokit from {report['memokit']}"
    assert not report["before"], f"loaded before any code ran (site, sitecustomize or a .pth file): {report['before']}"
    return set(report["modules"]), report["who"]


def explain(modules: set[str], who: dict[str, list[str]], forbidden: Iterable[str]) -> list[str]:
    """One line per forbidden top-level module that was loaded, with the code that imported it."""
    lines = []
    for name in forbidden:
        hits = sorted(m for m in modules if m == name or m.startswith(name + "."))
        if hits:
            first = min(hits, key=len)
            chain = " <- ".join(reversed(who.get(first, ["(importer not recorded)"])))
            lines.append(f"{first} was loaded; imported at {chain}")
    return lines


def memokit_modules(modules: set[str]) -> Iterator[str]:
    return (m for m in sorted(modules) if m == "memokit" or m.startswith("memokit."))


BUILD = """
from pathlib import Path
from memokit.build.pipeline import Project, build
root, out = Path(sys.argv[2]), Path(sys.argv[3])
build(Project(data=root / "data", memo=root / "memo", out=out))
assert (out / "index.html").is_file() and (out / "assets" / "share.png").is_file()
"""


def test_the_offline_build_loads_no_network_machine_learning_serve_or_cli_code(tmp_path: Path) -> None:
    forbidden = (*NETWORK_AND_ML, *ABOVE_THE_BUILD)
    modules, who = loaded(BUILD, forbidden, tmp_path, str(ROOT), str(tmp_path / "site"))
    assert {"memokit.build.render", "memokit.build.chartspec", "altair"} <= modules, "the build did not run in full"
    bad = explain(modules, who, forbidden)
    assert not bad, "a full build of the flagship loaded:\n" + "\n".join(bad)


def test_the_model_loads_nothing_else_of_memokit(tmp_path: Path) -> None:
    names = sorted(module_name(p) for p in source_files(PACKAGE / "model"))
    body = "import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    modules, who = loaded(body, ["memokit"], tmp_path)
    others = [m for m in memokit_modules(modules) if m != "memokit" and not m.startswith("memokit.model")]
    bad = explain(modules, who, others)
    assert not bad, "importing every module of memokit/model/ loaded more of memokit:\n" + "\n".join(bad)


def test_the_preview_and_the_console_load_no_command_line(tmp_path: Path) -> None:
    modules, who = loaded("import memokit.serve\n", ["memokit.cli"], tmp_path)
    bad = explain(modules, who, ["memokit.cli"])
    assert not bad, "import memokit.serve loaded:\n" + "\n".join(bad)
    modules, who = loaded("import memokit.console\n", ["memokit.cli", "memokit.serve"], tmp_path)
    bad = explain(modules, who, ["memokit.cli", "memokit.serve"])
    assert not bad, "import memokit.console loaded:\n" + "\n".join(bad)


def test_importing_the_command_line_loads_no_heavy_library(tmp_path: Path) -> None:
    modules, who = loaded("import memokit.cli\n", HEAVY, tmp_path)
    assert "memokit.cli" in modules and "memokit.build.vega" in modules
    bad = explain(modules, who, HEAVY)
    assert not bad, ("import memokit.cli must stay light, so that the chart workers fork before the heavy "
                     "libraries load (memokit/build/vega.py):\n" + "\n".join(bad))


# --- collect: the only home of network clients -----------------------------------------------

#: HTTP client libraries, which only ``memokit/collect/`` may import (the preview's server uses
#: the standard library's ``http.server``, which is no client).
HTTP_CLIENTS = ("httpx", "requests", "urllib3", "urllib.request", "http.client")


def test_collect_imports_neither_the_build_nor_the_preview_nor_the_command_line() -> None:
    bad = violations(PACKAGE / "collect", ("memokit.build", "memokit.serve", "memokit.cli", "memokit.curate",
                                           *NETWORK_AND_ML[3:]))
    assert not bad, "memokit/collect/ turns public APIs into raw/; it may not import:\n" + "\n".join(bad)


def test_only_collect_imports_an_http_client() -> None:
    bad = [line for path in source_files(PACKAGE) if "collect" not in path.relative_to(PACKAGE).parts[:1]
           for line in violations(path, HTTP_CLIENTS)]
    assert not bad, "network clients live in memokit/collect/ alone:\n" + "\n".join(bad)


def test_collecting_loads_no_build_and_the_command_line_loads_no_http_client(tmp_path: Path) -> None:
    # (pydantic is fine: the shared types use it.)
    forbidden = ["memokit.build", "memokit.serve", "pandas", "numpy", "altair", "vl_convert"]
    modules, who = loaded("import memokit.collect\n", forbidden, tmp_path)
    assert "memokit.collect.run" in modules and "httpx" in modules
    bad = explain(modules, who, forbidden)
    assert not bad, "import memokit.collect loaded:\n" + "\n".join(bad)
    modules, who = loaded("import memokit.cli\n", ["httpx", "memokit.collect"], tmp_path)
    bad = explain(modules, who, ["httpx", "memokit.collect"])
    assert not bad, "import memokit.cli must not load the collector until `memokit collect` runs:\n" + "\n".join(bad)
