"""The command line of curating: ``memokit ingest``, ``suggest``, ``agreement`` and ``code``.

Each parses its options, calls the library and turns its errors into one line per problem and
an exit code (0 done, 2 invalid input), as the build does."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..model import AGREEMENT_FILE, InputError, Problem, printable, url_key
from ..model.signal import CODER

EXIT_OK, EXIT_INPUT = 0, 2


def _data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=Path("data"), metavar="DIR",
                   help="folder with signals.jsonl, taxonomy.toml and the queue (default: data)")


def _raw(p: argparse.ArgumentParser) -> None:
    p.add_argument("--raw", type=Path, action="append", default=None, metavar="PATH",
                   help="raw posts: a folder of *.jsonl/*.csv or one file; may be given again (default: raw)")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def ingest_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memokit ingest", description=(
        "Put raw posts into the coding queue (data/queue.jsonl): posts with the same canonical URL, and "
        "near-duplicates by title and body, are merged and listed in a report; posts already coded keep their codes."))
    p.add_argument("raw", nargs="*", type=Path, help="raw posts: folders of *.jsonl/*.csv, or files (default: raw)")
    _data(p)
    p.add_argument("--threshold", type=_share, default=None, metavar="S",
                   help="least similarity (0 to 1) for two posts to be merged (default: 0.9)")
    p.add_argument("--method", choices=("auto", "exhaustive", "lsh"), default="auto",
                   help="compare every pair, or find candidates with MinHash-LSH (default: auto, by size)")
    p.add_argument("--corpus", default="", help="the corpus the new posts belong to (e.g. forums)")
    p.add_argument("--sample", default="", help="the sample the new posts belong to (e.g. sweep)")
    p.add_argument("--report", type=Path, default=None, metavar="FILE",
                   help="where to write the merges as CSV (default: DATA/ingest-report.csv)")
    return p


def suggest_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memokit suggest", description=(
        "Train the theme classifier on the coded signals (title and body; never the summary) and write into the "
        "queue, for each post, a suggested theme, its probability and the words that drove it; below the "
        "threshold it abstains."))
    _data(p)
    _raw(p)
    p.add_argument("--threshold", type=_share, default=None, metavar="P",
                   help="least probability for a suggestion (default: DATA/agreement.json's, else chosen by "
                        "cross-validation to reach kappa 0.8)")
    return p


def agreement_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memokit agreement", description=(
        "Measure by cross-validation how far the suggestions agree with the coders: Cohen's kappa and accuracy "
        "on all posts and on those it does not abstain on, per-theme precision and recall, the confusion "
        "matrix, and the threshold that reaches the target kappa."))
    _data(p)
    _raw(p)
    p.add_argument("--folds", type=int, default=None, metavar="K",
                   help="folds of the cross-validation (default: 10, or as many as the smallest theme allows)")
    p.add_argument("--target", type=_share, default=0.8, metavar="KAPPA",
                   help="the kappa the threshold must reach on the kept posts (default: 0.8)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--save", action="store_true",
                   help=f"write the figures to DATA/{AGREEMENT_FILE}, which the build shows in its methodology")
    return p


def code_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="memokit code", description=(
        "Serve the coding page on 127.0.0.1: the queue one post at a time; accept the suggestion or pick a "
        "theme by keyboard; every decision goes at once into data/signals.jsonl."))
    _data(p)
    p.add_argument("--coder", required=True, help="your name, recorded as coded_by")
    p.add_argument("--port", type=int, default=8001, metavar="N", help="the port on 127.0.0.1 (default: 8001; 0: any)")
    return p


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(line, file=sys.stderr)
    return EXIT_INPUT


def run(command: str, argv: list[str]) -> int:
    handlers: dict[str, Callable[[list[str]], int]] = {
        "ingest": _ingest, "suggest": _suggest, "agreement": _agreement, "code": _code}
    try:
        return handlers[command](argv)
    except InputError as exc:
        return _fail(exc.lines())


def _ingest(argv: list[str]) -> int:
    args = ingest_parser().parse_args(argv)
    from . import similar
    from .ingest import REPORT_FILE, ingest

    result = ingest(args.raw or [Path("raw")], args.data,
                    threshold=similar.THRESHOLD if args.threshold is None else args.threshold,
                    method=args.method, corpus=_name(args.corpus, "--corpus"), sample=_name(args.sample, "--sample"),
                    report=args.report)
    print(printable(result.summary()))
    for merge in result.merges[:10]:
        print(printable(f"  {merge.similarity:.2f} {merge.kind}: {merge.merged_url} -> {merge.kept_url} ({merge.kept_is})"))
    if len(result.merges) > 10:
        print(f"  ... and {len(result.merges) - 10:,} more")
    print(printable(f"merges listed in {args.report or args.data / REPORT_FILE}"))
    return EXIT_OK


def _name(value: str, option: str) -> str:
    import re

    if value and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", value):
        raise InputError([Problem(option, None, None, f"expected a lower-case name such as 'forums', got {value!r}")])
    return value


@dataclass
class Coded:
    """The coded signals as the classifier learns from them."""

    #: Each signal's title, and its body where a raw post with the same canonical URL has one.
    texts: list[str]
    themes: list[str]
    #: How many had a body.
    with_body: int
    #: ``coded_digest`` of the signals: what agreement.json records it was measured on.
    digest: str
    #: The codebook's text of each theme (its label and definition in the taxonomy).
    codebook: dict[str, str]


def coded_texts(data: Path, raw: list[Path] | None) -> Coded:
    """The coded signals of ``data`` and the bodies of ``raw`` (default: ``raw/`` if there is one)."""
    from ..build.validate import load_dataset
    from ..model import Problems
    from ..model.agreement import coded_digest
    from .classifier import text_of
    from .raw import raw_files, read_raw

    dataset = load_dataset(data)
    bodies: dict[str, str] = {}
    paths = raw if raw is not None else ([Path("raw")] if Path("raw").is_dir() else [])
    if paths:
        problems = Problems()
        for post in read_raw(raw_files(paths, problems), problems):
            if post.post.body:
                bodies.setdefault(post.key, post.post.body)
        problems.raise_if_any()
    texts, themes, with_body = [], [], 0
    for url, title, theme in zip(dataset.frame["url"], dataset.frame["title"], dataset.frame["theme"], strict=True):
        body = bodies.get(url_key(str(url))[0] or "", "")
        with_body += bool(body)
        texts.append(text_of(str(title), body))
        themes.append(str(theme))
    codebook = {theme.id: f"{theme.label}\n{theme.definition}" for theme in dataset.taxonomy.themes}
    return Coded(texts, themes, with_body, coded_digest(dataset.frame["title"], dataset.frame["theme"]), codebook)


def _agreement(argv: list[str]) -> int:
    args = agreement_parser().parse_args(argv)
    if args.folds is not None and args.folds < 2:
        return _fail([f"--folds: expected 2 or more, got {args.folds}"])
    from .agreement import default_folds, measure
    from .classifier import TooFewPosts
    from .store import write_atomic

    coded = coded_texts(args.data, args.raw)
    try:
        folds = args.folds or default_folds(coded.themes)
        result = measure(coded.texts, coded.themes, folds=folds, target=args.target, codebook=coded.codebook)
    except TooFewPosts as exc:
        return _fail([f"{args.data / 'signals.jsonl'}: {exc}"])
    # What it was measured on, so that a later change to the coded posts shows it out of date.
    summary = result.summary().model_copy(update={"data_digest": coded.digest})
    if args.json:
        print(json.dumps(summary.model_dump(mode="json"), indent=1))
    else:
        print(f"trained on titles and bodies ({coded.with_body:,} of {len(coded.texts):,} with a body; the rest on "
              "the title alone)")
        print(result.report())
    if args.save:
        write_atomic(args.data / AGREEMENT_FILE, json.dumps(summary.model_dump(mode="json"), indent=1) + "\n")
        print(printable(f"saved {args.data / AGREEMENT_FILE}"), file=sys.stderr)
    return EXIT_OK


def _suggest(argv: list[str]) -> int:
    args = suggest_parser().parse_args(argv)
    from ..model import Problems
    from .agreement import choose_threshold, default_folds, out_of_fold
    from .classifier import Classifier, TooFewPosts, text_of
    from .store import Suggestion, agreement_of, read_queue, write_queue

    problems = Problems()
    queue = read_queue(args.data, problems)
    problems.raise_if_any()
    if not queue:
        print("the queue is empty: nothing to suggest (memokit ingest fills it)")
        return EXIT_OK
    coded = coded_texts(args.data, args.raw)
    texts, themes = coded.texts, coded.themes
    agreement, stale = agreement_of(args.data, len(themes), coded.digest)
    if stale is not None:  # its threshold is used all the same (unless --threshold is given)
        print(f"warning: {printable(stale)}", file=sys.stderr)
    threshold = args.threshold
    try:
        if threshold is None and agreement is not None:
            threshold = agreement.threshold
            where = f"from {args.data / AGREEMENT_FILE}"
        elif threshold is None:
            import numpy as np

            folds = default_folds(themes, nested=False)
            probabilities, classes, _ = out_of_fold(texts, themes, folds, codebook=coded.codebook)
            predicted = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
            threshold = choose_threshold(np.asarray(themes, dtype=object), predicted, probabilities.max(axis=1))
            where = "chosen by cross-validation to reach kappa 0.8"
        else:
            where = "as given"
        model = Classifier.train(texts, themes, coded.codebook)
    except TooFewPosts as exc:
        return _fail([f"{args.data / 'signals.jsonl'}: {exc}"])
    queued = [text_of(e.title, e.body) for e in queue]
    probabilities = model.probabilities(queued)
    best = [model.themes[i] for i in probabilities.argmax(axis=1)]
    evidence = model.evidence(queued, best)
    updated = []
    for entry, row, theme, words in zip(queue, probabilities, best, evidence, strict=True):
        p = float(row.max())
        updated.append(entry.model_copy(update={"suggestion": Suggestion(
            theme=theme if p >= threshold else None, best=theme, probability=round(p, 4), evidence=words,
            threshold=round(threshold, 4))}))
    write_queue(args.data, updated)
    made = sum(e.suggestion is not None and e.suggestion.theme is not None for e in updated)
    print(printable(f"suggested a theme for {made:,} of {len(updated):,} queued posts; abstained on "
                    f"{len(updated) - made:,} (probability below {threshold:.2f}, {where})"))
    return EXIT_OK


def _code(argv: list[str]) -> int:
    args = code_parser().parse_args(argv)
    import re

    if not re.fullmatch(CODER, args.coder) or args.coder.startswith("model-accepted"):
        return _fail([f"--coder: expected a name of letters, digits, '.', '_' or '-', got {printable(args.coder)!r}"])
    if not 0 <= args.port <= 65535:
        return _fail([f"--port: expected 0 to 65535, got {args.port}"])
    from .coding import serve

    return serve(args.data, args.coder, args.port)
