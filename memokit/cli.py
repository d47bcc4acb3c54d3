"""Command line: parse options, run the build, turn errors into one line each and an exit code.

``memokit [options]`` builds (or, with ``--check``, checks); ``memokit serve`` is the live
preview (``memokit.serve``); ``memokit new DIR`` starts a project (``memokit.scaffold``);
``memokit pin`` and ``memokit compare`` keep and compare versions (``memokit.versions``); ``memokit
convert`` writes the signals as Parquet (``memokit.build.convert``); ``memokit collect`` gathers raw
posts (``memokit.collect``); ``memokit ingest``, ``suggest``, ``agreement`` and ``code`` curate them
(``memokit.curate``).
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import interrupt
from .build import vega

if TYPE_CHECKING:
    from .build.pipeline import Project


#: The commands of memokit.curate (ingest raw posts, suggest themes, measure agreement, code).
CURATE = ("ingest", "suggest", "agreement", "code")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit",
        description="Build a research-memo site whose every number is computed from the data. "
                    "Also: 'memokit serve' for a live preview, 'memokit new DIR' to start a project, "
                    "'memokit collect' to fetch new posts from public sources into raw/.",
    )
    _build_options(p)
    p.add_argument("--check", action="store_true",
                   help="load, validate, compute and check every number and claim; write nothing")
    return p


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit serve",
        description="Build, serve the site on 127.0.0.1, rebuild whenever a file in the data, memo or "
                    "templates folder changes, and reload the open pages. A failed build is shown in "
                    "the page and here, while the last good site stays up.",
    )
    _build_options(p)
    p.add_argument("--port", type=_port, default=8000, metavar="N",
                   help="the port to listen on (default: 8000; 0 picks a free one)")
    return p


def _build_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=Path("data"), metavar="DIR",
                   help="folder with signals.jsonl (or signals.csv, or signals.parquet) and taxonomy.toml "
                        "(default: data)")
    p.add_argument("--memo", type=Path, default=Path("memo"), metavar="DIR",
                   help="folder with index.md and further pages (default: memo)")
    p.add_argument("--templates", type=Path, default=None, metavar="DIR",
                   help="Jinja2 templates and assets (default: ./templates, else the built-in ones)")
    p.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                   help="output folder, replaced only when the build succeeds (default: site)")
    p.add_argument("--site-url", type=_site_url, default=None, metavar="URL",
                   help="the address the site is published at, e.g. https://example.org/memo/; fills "
                        "canonical and Open Graph links (default: none, every link stays relative)")
    p.add_argument("--versions", type=Path, default=Path("versions"), metavar="DIR",
                   help="the pinned versions (memokit pin) the build reports changes since (default: versions)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    p.add_argument("-v", "--verbose", action="store_true", help="print each stage of the build with its time")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return port


def _site_url(text: str) -> str:
    """Accept an absolute http(s) URL; end it with "/" so page paths join onto it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"expected an absolute http(s) URL such as https://example.org/memo/, got {text!r}")
    return text if text.endswith("/") else text + "/"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (0 built, 1 claims failed, 2 invalid input)."""
    from .console import TerminalProgress, run_build

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["new"]:
        return _new(argv[1:])
    if argv[:1] == ["compare"]:
        return _compare(argv[1:])
    if argv[:1] == ["pin"]:
        return _pin(argv[1:])
    if argv[:1] == ["collect"]:
        return _collect(argv[1:])
    if argv[:1] and argv[0] in CURATE:
        from .curate.commands import run

        return run(argv[0], argv[1:])
    if argv[:1] == ["convert"]:
        return _convert(argv[1:])
    if argv[:1] == ["serve"]:
        args = serve_parser().parse_args(argv[1:])
        _libraries_loaded()
        from .serve import serve

        return serve(_project(args), port=args.port, quiet=args.quiet, verbose=args.verbose)
    args = parser().parse_args(argv)
    _libraries_loaded()
    report = run_build(_project(args), check=args.check, verbose=args.verbose,
                       progress=None if args.quiet else TerminalProgress.on(sys.stderr))
    for line in report.errors:
        print(line, file=sys.stderr)
    if report.summary and not args.quiet:
        print(report.summary)
    return report.code


def pin_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit pin",
        description="Build, then write the site's snapshot, whole (one self-contained file, its signals inline), into "
                    "the versions folder as versions/<the memo's date>.json: a publication that later builds report "
                    "their changes since.")
    _build_options(p)
    p.add_argument("--force", action="store_true", help="replace a different version pinned on the same date")
    return p


def compare_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit compare",
        description="Show what moved between two versions and why: every bound number that changed, split into "
                    "what posts added, dropped and recoded contribute; claims that changed; changes of method. "
                    "Markdown by default (usable as a pull-request body), or JSON.")
    p.add_argument("old", help="a snapshot file, a site folder, or the date of a pinned version (YYYY-MM-DD)")
    p.add_argument("new", nargs="?", default="site", help="the same (default: site, the last build)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--versions", type=Path, default=Path("versions"), metavar="DIR",
                   help="where pinned versions live (default: versions)")
    return p


def _pin(argv: list[str]) -> int:
    from .console import EXIT_INPUT, EXIT_OK, TerminalProgress, run_build
    from .model.problems import InputError

    args = pin_parser().parse_args(argv)
    _libraries_loaded()
    project = _project(args)
    report = run_build(project, verbose=args.verbose, progress=None if args.quiet else TerminalProgress.on(sys.stderr))
    for line in report.errors:
        print(line, file=sys.stderr)
    if report.code != EXIT_OK:
        return report.code
    from .versions import store

    try:
        target, written = store.pin(project.out / store.SNAPSHOT, project.versions, force=args.force)
    except InputError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_INPUT
    if not args.quiet:
        print(report.summary)
        print(f"pinned {target}" if written else f"{target} already holds this version; nothing to pin")
    return EXIT_OK


def _compare(argv: list[str]) -> int:
    from .console import EXIT_INPUT, EXIT_OK
    from .model.problems import InputError

    args = compare_parser().parse_args(argv)
    from .versions import store
    from .versions.compare import compare

    try:
        old = store.read(store.locate(args.old, args.versions))
        new = store.read(store.locate(args.new, args.versions))
    except InputError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_INPUT
    comparison = compare(old, new)
    if args.json:
        print(json.dumps(comparison.to_json(), ensure_ascii=False, indent=1, allow_nan=False))
    else:
        print(comparison.to_markdown(), end="")
    return EXIT_OK


def collect_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit collect",
        description="Collect public posts from the sources in collect.toml (GitHub, Hacker News, Stack Exchange, "
                    "Reddit, Discourse) into raw/<kind>.jsonl: only what is new since the last run, every page "
                    "saved as it comes, a stopped run continued where it stopped. Tokens come from the environment "
                    "(GITHUB_TOKEN, STACKEXCHANGE_KEY, REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET).")
    p.add_argument("--config", type=Path, default=Path("collect.toml"), metavar="FILE",
                   help="the sources to collect from (default: collect.toml)")
    p.add_argument("--raw", type=Path, default=Path("raw"), metavar="DIR",
                   help="where the raw records, the state and the cache of responses go (default: raw)")
    p.add_argument("--renormalise", action="store_true",
                   help="rebuild raw/<kind>.jsonl from the cached responses with this version's normalising; "
                        "fetch nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    return p


def convert_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit convert",
        description="Validate the signals file of the data folder (signals.jsonl or signals.csv) and write it as "
                    "Parquet, which a build reads in place of it (keep one signals file in the folder).")
    p.add_argument("--data", type=Path, default=Path("data"), metavar="DIR",
                   help="folder with the signals file and taxonomy.toml (default: data)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="the Parquet file to write (default: signals.parquet in the data folder)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    return p


def _collect(argv: list[str]) -> int:
    from .console import EXIT_SIGNAL, TerminalProgress

    args = collect_parser().parse_args(argv)
    progress = None if args.quiet else TerminalProgress.on(sys.stderr)

    def out(line: str) -> None:
        if progress is not None:
            progress.clear()
        if not args.quiet:
            print(line, flush=True)

    def err(line: str) -> None:
        if progress is not None:
            progress.clear()
        print(line, file=sys.stderr, flush=True)

    from .collect import collect, renormalise

    try:
        if args.renormalise:
            report = renormalise(args.raw, say=out, warn=err)
        else:
            report = collect(args.config, args.raw, progress=progress, say=out, warn=err)
    except (interrupt.Interrupted, KeyboardInterrupt) as stopped:
        signum = stopped.signum if isinstance(stopped, interrupt.Interrupted) else signal.SIGINT
        err(f"memokit: collect interrupted; everything fetched so far is saved in {args.raw}/, and the next "
            "memokit collect goes on from where this one stopped")
        return EXIT_SIGNAL + signum
    finally:
        if progress is not None:
            progress.clear()
    # Every line was printed as it came (``say`` and ``warn``), so a long run reports as it goes.
    return report.code


def _convert(argv: list[str]) -> int:
    from .console import EXIT_INPUT, EXIT_OK
    from .model.problems import InputError

    args = convert_parser().parse_args(argv)
    _libraries_loaded()
    from .build.convert import convert

    try:
        target, dataset = convert(args.data, args.out)
    except InputError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"memokit: invalid input ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}); "
              "nothing was written", file=sys.stderr)
        return EXIT_INPUT
    for warning in dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(f"wrote {target}: {len(dataset):,} signals from {dataset.source_path}")
        if target.parent.resolve() == dataset.source_path.parent.resolve():
            print(f"next: remove {dataset.source_path} (or move it out of {target.parent}): a data folder holds one "
                  "signals file")
    return EXIT_OK


def _new(argv: list[str]) -> int:
    new = argparse.ArgumentParser(prog="memokit new", description="Start a new memo project that builds at once.")
    new.add_argument("folder", type=Path, help="a new or empty folder")
    args = new.parse_args(argv)
    from .console import EXIT_INPUT, EXIT_OK
    from .model.problems import InputError
    from .scaffold import new_project

    try:
        files = new_project(args.folder)
    except InputError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_INPUT
    for path in files:
        print(f"wrote {path}")
    print(f"next: cd {args.folder} && memokit serve   (a live preview; the data is synthetic: replace it with "
          "real, cited posts)")
    return EXIT_OK


def entry() -> int:
    """The ``memokit`` command and ``python build.py``: like ``main``, but first makes SIGINT and
    SIGTERM stop it cleanly (``memokit.interrupt``) and starts the chart workers, which warm up
    while the libraries load (see ``memokit.build.vega``). Only a fresh process does this; ``main``
    called from other code renders in-process and leaves signals alone."""
    command = sys.argv[1:2]
    code: int | None = None
    try:
        try:
            # First, before anything is imported that a signal could interrupt with a traceback.
            # (This module imports only what the argument parser and the workers need.)
            interrupt.install()
            # Importing pandas and Altair makes a great many objects that live as long as the
            # process; the garbage collector's passes over them while they load are wasted work
            # (about 10% of the import time). ``_libraries_loaded`` freezes them and turns it back
            # on once they are in.
            gc.disable()
            if "--check" not in sys.argv[1:] and command not in (["new"], ["compare"], ["convert"], ["collect"],
                                                                 *([c] for c in CURATE)):
                vega.start()
            code = main()
        finally:
            interrupt.ignore()  # the run is ending: from here on a signal changes nothing
    except (interrupt.Interrupted, KeyboardInterrupt) as stopped:  # (the latter only before install())
        if code is None:  # (else it came after the run's work was done, and changes nothing)
            signum = stopped.signum if isinstance(stopped, interrupt.Interrupted) else signal.SIGINT
            code = _report_interrupted(signum, command)
    finally:
        vega.stop()
        # The process ends next. Freezing the heap spares the interpreter's last garbage
        # collection a walk over every object pandas and the build made (about 0.1 s); nothing
        # is left open, and the objects are freed by reference counting as usual.
        gc.freeze()
    return code


def _report_interrupted(signum: int, command: list[str]) -> int:
    from .console import interrupted

    report = interrupted(signum, serving=command == ["serve"], writing=command != ["new"])
    for line in report.errors:
        print(line, file=sys.stderr, flush=True)
    if report.summary:
        print(report.summary, flush=True)
    return report.code


def _libraries_loaded() -> None:
    """Load the build's libraries; then, if ``entry`` turned the garbage collector off while they
    loaded, freeze what they made and turn it back on."""
    from .build import pipeline  # noqa: F401  (after vega.start(): it forks)

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _project(args: argparse.Namespace) -> Project:
    from .build.pipeline import Project

    return Project(data=args.data, memo=args.memo, templates=args.templates, out=args.out, site_url=args.site_url,
                   versions=args.versions)


if __name__ == "__main__":
    sys.exit(entry())
