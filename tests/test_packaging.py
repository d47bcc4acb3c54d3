"""A built wheel works on its own: installed (not editable) into a fresh virtual environment, it
starts a project and builds sites from any folder, with the templates and assets it carries.

The checkout is copied first (as a user's folder would be, without .git, .venv, caches or build
output), so building never writes ``build/`` or ``*.egg-info`` here and no stale ``build/lib``
leaks into the wheel. Nothing is downloaded: the wheel is built without build isolation and
installed with ``--no-deps --no-index``, and the fresh environment gets this environment's
dependencies through a ``.pth`` file listing its site-packages folders. A plain path in a
``.pth`` is appended to ``sys.path`` without processing the ``.pth`` files in that folder, so an
editable install of memokit here (``__editable__.memokit-….pth``) is not picked up there;
``test_the_fresh_environment_imports_memokit_from_the_wheel_and_nothing_from_the_checkout``
checks exactly that, against a control in which those files are processed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import site
import struct
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from markupsafe import escape

ROOT = Path(__file__).resolve().parent.parent
#: The folders of run-time files that must ship inside the package.
DATA_FOLDERS = ("memokit/build/templates", "memokit/serve/assets", "memokit/curate/assets")
#: Top-level entries of a checkout that are not its source: VCS, environments, caches, output.
NOT_SOURCE = {".git", ".venv", "venv", "node_modules", "site", "build", "dist", "test-artifacts", ".hypothesis",
              ".mypy_cache", ".ruff_cache", ".pytest_cache"}
TIMEOUT = 300


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, say which, where, and everything it printed."""
    command = [str(a) for a in args]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, (f"`{' '.join(command)}` in {cwd} exited {result.returncode}\n"
                                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


def copy_checkout(dest: Path) -> Path:
    """Copy the checkout's source (everything but NOT_SOURCE, ``*.egg-info`` and ``.site-*``)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        if Path(folder) != ROOT:
            return set()
        return {n for n in names if n in NOT_SOURCE or n.endswith(".egg-info") or n.startswith(".site-")}

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def build_wheel(source: Path, out: Path) -> Path:
    """``pip wheel`` from ``source``, as ``pip install .`` builds, offline; return the wheel."""
    out.mkdir(parents=True, exist_ok=True)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, source,
        cwd=out)
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, f"expected one wheel in {out}, found {[w.name for w in wheels]}"
    return wheels[0]


def is_shipped_data(relative: Path) -> bool:
    """A file the package reads at run time: not hidden, not a byte-code cache."""
    return not any(part.startswith(".") or part == "__pycache__" for part in relative.parts)


def expected_package_files(source: Path) -> set[str]:
    """The files a wheel of ``source`` must hold under ``memokit/``: every module, and every
    template and asset."""
    modules = {p.relative_to(source).as_posix() for p in (source / "memokit").rglob("*.py")
               if "__pycache__" not in p.parts}
    data = {p.relative_to(source).as_posix() for folder in DATA_FOLDERS for p in (source / folder).rglob("*")
            if p.is_file() and is_shipped_data(p.relative_to(source / folder))}
    assert data, f"no templates or assets found under {DATA_FOLDERS} in {source}"
    return modules | data


def digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("checkout") / "memokit-src")


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(source, tmp_path_factory.mktemp("wheel"))


# --- the wheel's contents ---------------------------------------------------------------------


def test_the_wheel_holds_every_module_template_and_asset_and_nothing_else(source: Path, wheel: Path) -> None:
    version = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    names = [n for n in zipfile.ZipFile(wheel).namelist() if not n.endswith("/")]
    assert len(names) == len(set(names)), f"{wheel.name} holds some files twice: {sorted(n for n in set(names) if names.count(n) > 1)}"
    dist_info = f"memokit-{version}.dist-info"
    tops = {n.split("/")[0] for n in names}
    assert tops == {"memokit", dist_info}, (
        f"{wheel.name} holds top-level entries other than memokit/ and {dist_info}/: "
        f"{sorted(tops - {'memokit', dist_info})} (tests, data, memo and build.py must not ship)")

    shipped = {n for n in names if n.startswith("memokit/")}
    expected = expected_package_files(source)
    missing, stray = sorted(expected - shipped), sorted(shipped - expected)
    assert not missing, (f"{wheel.name} lacks files that memokit needs at run time: {missing}; a plain install "
                         "would not find them. Cover them in [tool.setuptools.package-data] in pyproject.toml")
    assert not stray, f"{wheel.name} holds files that are no module, template or asset of memokit: {stray}"

    archive = zipfile.ZipFile(wheel)
    for name in sorted(n for n in expected if not n.endswith(".py")):
        assert archive.read(name) == (source / name).read_bytes(), f"{name} in {wheel.name} differs from the checkout"
    entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert re.search(r"^memokit = memokit\.cli:entry$", entry_points, flags=re.M), entry_points
    metadata = archive.read(f"{dist_info}/METADATA").decode()
    declared = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for requirement in declared:
        assert f"Requires-Dist: {requirement}\n" in metadata, f"{requirement!r} is not among the wheel's Requires-Dist"


def test_a_wheel_built_from_the_sdist_holds_the_same_files(wheel: Path, tmp_path: Path) -> None:
    # `python -m build` makes the sdist first and the wheel from it: the sdist must carry the
    # templates and assets too.
    source = copy_checkout(tmp_path / "memokit-src")
    out = tmp_path / "sdist"
    out.mkdir()
    run(sys.executable, "-c", "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
        out, cwd=source)
    sdists = sorted(out.glob("*.tar.gz"))
    assert len(sdists) == 1, f"expected one sdist in {out}, found {[s.name for s in sdists]}"
    with tarfile.open(sdists[0]) as archive:
        extract = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tmp_path / "unpacked", **extract)
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    from_sdist = build_wheel(unpacked, tmp_path / "wheel-from-sdist")
    ours = sorted(zipfile.ZipFile(wheel).namelist())
    theirs = sorted(zipfile.ZipFile(from_sdist).namelist())
    assert theirs == ours, (f"the wheel built from {sdists[0].name} differs from the one built from the checkout: "
                            f"only from the sdist {sorted(set(theirs) - set(ours))}, "
                            f"only from the checkout {sorted(set(ours) - set(theirs))}")


# --- the wheel installed in a fresh environment -----------------------------------------------


def dependency_folders() -> list[Path]:
    """This environment's site-packages folders, where memokit's dependencies are installed."""
    candidates = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else []),
                  *(p for p in sys.path if Path(p).name in ("site-packages", "dist-packages"))]
    folders: list[Path] = []
    for candidate in candidates:
        path = Path(candidate)
        if path.is_dir() and path not in folders:
            folders.append(path)
    return folders


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment with the wheel installed in it, and a working folder outside
    the checkout to run it from."""

    venv: Path
    site_packages: Path
    dependencies: list[Path]
    work: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def memokit(self) -> Path:
        return self.venv / "bin" / "memokit"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a user who has activated the venv: none of this process's
        ``PYTHON*`` settings (``PYTHONPATH`` could reach the checkout)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
        return {**env, "VIRTUAL_ENV": str(self.venv), "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1"}

    def folder(self, name: str) -> Path:
        folder = self.work / name
        folder.mkdir()
        return folder

    def run(self, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        return run(*args, cwd=cwd, env=self.env)

    def probe(self, code: str, cwd: Path) -> dict:
        """Run ``code`` in the environment's Python; it prints one JSON object, returned."""
        return json.loads(self.run(self.python, "-c", code, cwd=cwd).stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    work = base / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT), f"the working folder {work} must lie outside the checkout {ROOT}"
    venv = base / "venv"
    python = venv / "bin" / "python"
    # This environment's pip installs into the new one (`pip --python`, pip >= 22.3), which spares
    # the seconds ensurepip takes; an older pip gets the venv's own, bundled pip instead. Before
    # the .pth exists, so pip sees an empty environment.
    import pip

    if tuple(int(part) for part in re.findall(r"\d+", pip.__version__)[:2]) >= (22, 3):
        run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
        run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel, cwd=base)
    else:
        run(sys.executable, "-m", "venv", venv, cwd=base)
        run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel, cwd=base)
    site_packages = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                             cwd=base).stdout.strip())
    dependencies = dependency_folders()
    assert dependencies, "found no site-packages folder of the running interpreter to take the dependencies from"
    (site_packages / "_memokit_test_dependencies.pth").write_text(
        "".join(f"{folder}\n" for folder in dependencies), encoding="utf-8")
    return Installed(venv=venv, site_packages=site_packages, dependencies=dependencies, work=work)


PROBE = """
import importlib, json, sys
found = {}
for name in ("memokit", "memokit.build.pipeline", "memokit.serve.preview", "pandas", "pydantic", "jinja2",
             "markdown", "yaml", "altair", "vl_convert"):
    found[name] = importlib.import_module(name).__file__
from memokit.build.pipeline import BUILTIN_TEMPLATES
from memokit.serve.preview import ASSET_DIR
print(json.dumps({"prefix": sys.prefix, "path": sys.path, "files": found, "templates": str(BUILTIN_TEMPLATES),
                  "serve_assets": str(ASSET_DIR), "meta_path": [repr(f) for f in sys.meta_path],
                  "editable": sorted(m for m in sys.modules if "editable" in m)}))
"""

#: The control: the same interpreter, with the dependency folders' own .pth files processed.
CONTROL = """
import json, site, sys
for folder in sys.argv[1:]:
    site.addsitedir(folder)
print(json.dumps({"path": sys.path, "editable": sorted(m for m in sys.modules if "editable" in m),
                  "meta_path": [repr(f) for f in sys.meta_path]}))
"""


def test_the_fresh_environment_imports_memokit_from_the_wheel_and_nothing_from_the_checkout(
        installed: Installed) -> None:
    cwd = installed.folder("probe")
    seen = installed.probe(PROBE, cwd)
    assert Path(seen["prefix"]) == installed.venv, seen["prefix"]
    inside = installed.site_packages.resolve()
    for name in ("memokit", "memokit.build.pipeline", "memokit.serve.preview"):
        assert Path(seen["files"][name]).resolve().is_relative_to(inside), (
            f"{name} was imported from {seen['files'][name]}, not from the wheel installed in {inside}")
    for key in ("templates", "serve_assets"):
        assert Path(seen[key]).is_relative_to(inside), f"{key} are read from {seen[key]}, outside the installed package"
    # Nowhere else on the path could memokit come from: not the checkout, not an editable finder.
    providers = [entry for entry in seen["path"] if (Path(entry or cwd) / "memokit" / "__init__.py").is_file()]
    assert [Path(p).resolve() for p in providers] == [inside], f"memokit is importable from {providers}"
    assert not any(Path(entry or cwd).resolve() == ROOT for entry in seen["path"]), seen["path"]
    assert not seen["editable"] and not any("editable" in finder.lower() for finder in seen["meta_path"]), (
        f"an editable install's finder is active in the fresh environment: {seen['editable']} {seen['meta_path']}")
    # The dependencies come from this environment, through the .pth file.
    for name in ("pandas", "pydantic", "jinja2", "markdown", "yaml", "altair", "vl_convert"):
        assert any(Path(seen["files"][name]).is_relative_to(folder) for folder in installed.dependencies), (
            f"{name} came from {seen['files'][name]}, not from {installed.dependencies}")

    # The control: processing the dependency folders' own .pth files would activate an editable
    # install of memokit that lives there. Only with such an install can this show anything.
    editable = [p for folder in installed.dependencies for p in folder.glob("*.pth")
                if "memokit" in p.name or str(ROOT) in p.read_text(encoding="utf-8", errors="replace")]
    if editable:
        control = json.loads(installed.run(installed.python, "-c", CONTROL, *installed.dependencies,
                                           cwd=cwd).stdout.splitlines()[-1])
        activated = control["editable"] or any(Path(entry).resolve() == ROOT for entry in control["path"] if entry)
        assert activated, (f"processing {editable} did not activate the editable install, so the check above "
                           f"proves nothing: {control}")


def read_signals(data: Path) -> list[dict]:
    lines = (data / "signals.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def check_site(site_dir: Path, data: Path, memo: Path) -> None:
    """Check that a built site has its pages, assets and data files, in agreement with the inputs."""
    taxonomy = tomllib.loads((data / "taxonomy.toml").read_text(encoding="utf-8"))
    signals = read_signals(data)
    title = re.search(r"^title: (.+)$", (memo / "index.md").read_text(encoding="utf-8"), flags=re.M)
    assert title, f"no title in {memo / 'index.md'}"
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    assert f"<title>{escape(title.group(1).strip())}" in index, f"index.html does not carry the memo's title {title}"
    assert index.count('<data class="bound"') > 0, "index.html holds no bound numbers"
    for link in ('href="assets/memo.css"', 'href="assets/phases.css"', 'src="assets/drill.js"',
                 'content="assets/share.png"'):
        assert link in index, f"index.html lacks {link}"

    themes, phases = taxonomy["themes"], taxonomy["phases"]
    for theme in themes:
        page = site_dir / "themes" / f"{theme['id']}.html"
        assert page.is_file(), f"{page} is missing"
        assert str(escape(theme["label"])) in page.read_text(encoding="utf-8"), f"{page} lacks the label {theme['label']!r}"
    for phase in phases:
        assert (site_dir / "phases" / f"{phase['id']}.html").is_file(), f"phases/{phase['id']}.html is missing"

    builtin = ROOT / "memokit" / "build" / "templates" / "assets"
    for asset in sorted(p.name for p in builtin.iterdir() if p.is_file()):
        built = site_dir / "assets" / asset
        assert built.is_file(), f"assets/{asset} is missing"
        assert built.read_bytes() == (builtin / asset).read_bytes(), f"assets/{asset} is not the built-in {asset}"
    phases_css = (site_dir / "assets" / "phases.css").read_text(encoding="utf-8")
    for phase in phases:
        assert f'[data-phase="{phase["id"]}"]' in phases_css, f"phases.css has no rule for {phase['id']}"
        if "color" in phase:
            assert phase["color"] in phases_css, f"phases.css lacks {phase['id']}'s colour {phase['color']}"
    png = (site_dir / "assets" / "share.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR", "share.png is not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 200 and height >= 100, f"share.png is {width}x{height}"

    stats = json.loads((site_dir / "data" / "stats.json").read_text(encoding="utf-8"))
    assert stats["n"] == len(signals), f"stats.json says n={stats['n']}, the data holds {len(signals)} signals"
    with (site_dir / "data" / "signals.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["id"] for r in rows) == sorted(s["id"] for s in signals), "signals.csv is not the data's signals"
    counts = {}
    for theme in themes:
        posts = json.loads((site_dir / "data" / "themes" / f"{theme['id']}.json").read_text(encoding="utf-8"))
        counts[theme["id"]] = posts["count"]
    expected_counts = {t["id"]: sum(s["theme"] == t["id"] for s in signals) for t in themes}
    assert counts == expected_counts, f"data/themes/*.json count {counts}, the data {expected_counts}"
    claims = json.loads((site_dir / "data" / "claims.json").read_text(encoding="utf-8"))
    assert claims["claims"] and all(c["passed"] for c in claims["claims"]), claims["claims"]
    assert claims["bindings"], "claims.json lists no bound numbers"


def test_an_installed_wheel_starts_a_project_that_builds_from_any_folder(installed: Installed) -> None:
    work = installed.folder("new")
    made = installed.run("memokit", "new", "np", cwd=work)  # found on PATH, like a user's activated venv
    assert "wrote np/data/signals.jsonl" in made.stdout, made.stdout
    project = work / "np"
    built = installed.run(installed.memokit, cwd=project)
    assert re.match(r"built site/: \d+ signals, .* 1/1 claims hold", built.stdout), built.stdout
    check_site(project / "site", project / "data", project / "memo")


def test_an_installed_wheel_builds_the_flagship_exactly_as_the_checkout_does(
        installed: Installed, flagship_site: Path) -> None:
    work = installed.folder("flagship")
    out = work / "site"
    built = installed.run(installed.memokit, "--data", ROOT / "data", "--memo", ROOT / "memo", "--versions",
                          ROOT / "versions", "--out", out, cwd=work)
    assert f"{len(read_signals(ROOT / 'data')):,} signals" in built.stdout, built.stdout
    check_site(out, ROOT / "data", ROOT / "memo")
    ours, checkout = digest(out), digest(flagship_site)
    differ = sorted(name for name in set(ours) & set(checkout) if ours[name] != checkout[name])
    assert ours == checkout, (f"the installed wheel's site differs from the checkout's: only from the wheel "
                              f"{sorted(set(ours) - set(checkout))}, only from the checkout "
                              f"{sorted(set(checkout) - set(ours))}, different bytes {differ}")
    # `python -m memokit` is the same command.
    checked = installed.run(installed.python, "-m", "memokit", "--check", "--data", ROOT / "data",
                            "--memo", ROOT / "memo", cwd=work)
    assert checked.stdout.startswith("check passed:"), checked.stdout


def _collect(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


def test_an_installed_wheel_serves_the_preview_with_its_own_script_and_stylesheet(installed: Installed) -> None:
    work = installed.folder("serve")
    installed.run(installed.memokit, "new", "np", cwd=work)
    process = subprocess.Popen([str(installed.memokit), "serve", "--port", "0"], cwd=work / "np", env=installed.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []
    for stream, lines in ((process.stdout, out), (process.stderr, err)):
        threading.Thread(target=_collect, args=(stream, lines), daemon=True).start()
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            found = [m for line in list(out) if (m := re.search(r"http://127\.0\.0\.1:\d+/", line))]
            if found:
                url = found[0].group(0)
            assert process.poll() is None, f"memokit serve exited {process.returncode}: {out} {err}"
            time.sleep(0.05)
        assert url, f"memokit serve printed no address: {out} {err}"
        local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy
        for name in ("live.js", "live.css"):
            with local.open(f"{url}__memokit__/{name}", timeout=30) as response:
                served = response.read()
            assert served == (ROOT / "memokit" / "serve" / "assets" / name).read_bytes(), (
                f"/__memokit__/{name} is not memokit/serve/assets/{name}")
        with local.open(url, timeout=30) as response:
            assert b"/__memokit__/live.js" in response.read()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, f"memokit serve exited {code} on Ctrl+C: {err}"
