"""Command line: parse options, run the build, turn errors into one line each and an exit code."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from urllib.parse import urlsplit

from . import vega
from .errors import InputError, MemokitError

EXIT_OK, EXIT_CLAIMS, EXIT_INPUT = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memokit",
        description="Build a research-memo site whose every number is computed from the data.",
    )
    p.add_argument("--data", type=Path, default=Path("data"), metavar="DIR",
                   help="folder with signals.jsonl (or signals.csv) and taxonomy.toml (default: data)")
    p.add_argument("--memo", type=Path, default=Path("memo"), metavar="DIR",
                   help="folder with index.md and further pages (default: memo)")
    p.add_argument("--templates", type=Path, default=None, metavar="DIR",
                   help="Jinja2 templates and assets (default: ./templates, else the built-in ones)")
    p.add_argument("--out", type=Path, default=Path("site"), metavar="DIR",
                   help="output folder, replaced only when the build succeeds (default: site)")
    p.add_argument("--site-url", type=_site_url, default=None, metavar="URL",
                   help="the address the site is published at, e.g. https://example.org/memo/; fills "
                        "canonical and Open Graph links (default: none, every link stays relative)")
    p.add_argument("--check", action="store_true",
                   help="load, validate, compute and check every number and claim; write nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but problems")
    p.add_argument("-v", "--verbose", action="store_true", help="print each stage of the build with its time")
    return p


def _site_url(text: str) -> str:
    """Accept an absolute http(s) URL; end it with "/" so page paths join onto it."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"expected an absolute http(s) URL such as https://example.org/memo/, got {text!r}")
    return text if text.endswith("/") else text + "/"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (0 built, 1 claims failed, 2 invalid input)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["new"]:
        return _new(argv[1:])
    args = parser().parse_args(argv)
    return _run(args)


def _new(argv: list[str]) -> int:
    new = argparse.ArgumentParser(prog="memokit new", description="Start a new memo project that builds at once.")
    new.add_argument("folder", type=Path, help="a new or empty folder")
    args = new.parse_args(argv)
    from .scaffold import new_project

    try:
        files = new_project(args.folder)
    except InputError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return EXIT_INPUT
    for path in files:
        print(f"wrote {path}")
    print(f"next: cd {args.folder} && memokit   (the data is synthetic: replace it with real, cited posts)")
    return EXIT_OK


def entry() -> int:
    """The ``memokit`` command and ``python build.py``: like ``main``, but first starts the chart
    workers, which warm up while the libraries load (see ``memokit.vega``). Only a fresh process
    does this; ``main`` called from other code renders in-process."""
    # Importing pandas and Altair makes a great many objects that live as long as the process;
    # the garbage collector's passes over them while they load are wasted work (about 10% of the
    # import time). ``_run`` freezes them and turns it back on once the libraries are in.
    gc.disable()
    if "--check" not in sys.argv[1:] and sys.argv[1:2] != ["new"]:
        vega.start()
    try:
        return main()
    finally:
        vega.stop()
        # The process ends next. Freezing the heap spares the interpreter's last garbage
        # collection a walk over every object pandas and the build made (about 0.1 s); nothing
        # is left open, and the objects are freed by reference counting as usual.
        gc.freeze()


def _run(args: argparse.Namespace) -> int:
    from .pipeline import CheckFailure, Project, build  # after vega.start(): it forks

    if not gc.isenabled():  # see ``entry``
        gc.freeze()
        gc.enable()

    project = Project(data=args.data, memo=args.memo, templates=args.templates, out=args.out,
                      site_url=args.site_url)
    try:
        log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.verbose else None
        result = build(project, check=args.check, log=log)
    except InputError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"memokit: invalid input ({len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}); "
              "nothing was written", file=sys.stderr)
        return EXIT_INPUT
    except CheckFailure as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        print(f"memokit: {exc.summary()}; nothing was written", file=sys.stderr)
        return EXIT_CLAIMS
    except MemokitError as exc:
        print(f"memokit: {exc}", file=sys.stderr)
        return exc.exit_code
    for warning in result.dataset.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not args.quiet:
        claims = result.claims
        summary = (f"{result.stats.n:,} signals, {len(result.stats.taxonomy.themes)} themes, "
                   f"{len(result.pages)} page{'s' if len(result.pages) != 1 else ''}, "
                   f"{result.bindings} bound numbers, {claims}/{claims} claims hold, "
                   f"{result.facts} cited fact{'s' if result.facts != 1 else ''}, no hand-typed numbers")
        if args.check:
            print(f"check passed: {summary}; nothing written")
        else:
            print(f"built {args.out}/: {summary}; {result.files:,} files, {result.bytes / 1024:,.0f} KB "
                  f"in {result.seconds:.1f} s")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(entry())
