"""``memokit ingest``: raw posts to the coding queue, with duplicates merged and reported.

1. Exact duplicates: two posts whose URLs have the same canonical form (``memokit.model.urls``,
   the form the build's validation uses) are one post. A URL already coded in
   ``data/signals.jsonl``, queued, or dropped is not queued again.
2. Near-duplicates (``similar``): a new post at least ``threshold`` alike another (coded, queued
   or new) is merged into it. Of a group of alike posts the coded one is kept, else the queued
   one, else the oldest (by date, then by the order read).
3. The new posts that remain join the end of ``data/queue.jsonl``; the coded signals are never
   touched, so every code stays as it was, and nothing queued is counted by the build.

Every merge is listed in the report with the kept and the merged URL and their similarity.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..build.validate import load_dataset
from ..model import Problems, url_key
from . import similar
from .raw import Post, raw_files, read_raw
from .store import Duplicate, QueueEntry, read_dropped, read_queue, write_atomic, write_queue

REPORT_FILE = "ingest-report.csv"


@dataclass(frozen=True)
class Merge:
    """One post merged into another."""

    kind: str  # "same URL" or "near-duplicate"
    kept_id: str
    kept_url: str
    kept_is: str  # "coded", "queued" or "new"
    merged_url: str
    merged_title: str
    similarity: float
    where: str  # file:line of the merged post


@dataclass
class Ingested:
    """What an ingest did."""

    read: int = 0
    queued: list[QueueEntry] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    already_coded: int = 0
    already_queued: int = 0
    dropped_before: int = 0
    method: str = ""

    def summary(self) -> str:
        near = sum(m.kind == "near-duplicate" for m in self.merges)
        same = len(self.merges) - near
        return (f"read {self.read:,} raw posts: {len(self.queued):,} new in the queue; merged {same:,} with the same "
                f"URL and {near:,} near-duplicates ({self.method}); {self.already_coded:,} already coded, "
                f"{self.already_queued:,} already queued, {self.dropped_before:,} dropped before")


@dataclass
class _Node:
    """A post taking part in deduplication: coded, queued or new."""

    is_: str
    id: str
    url: str
    title: str
    created: str | None
    order: int
    post: Post | None = None


def post_id(key: str, taken: set[str]) -> str:
    """A stable id for a new post from its canonical URL: ``s`` and 8 hex digits, longer only
    where that would repeat an id already used."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    for length in range(8, len(digest) + 1):
        candidate = "s" + digest[:length]
        if candidate not in taken:
            return candidate
    raise AssertionError("a SHA-256 collision")


def ingest(raw: list[Path], data_dir: Path, *, threshold: float = similar.THRESHOLD, method: str = "auto",
           corpus: str = "", sample: str = "", report: Path | None = None) -> Ingested:
    """Ingest the raw posts of ``raw`` (files or folders) into ``data_dir``'s queue; raise
    ``InputError`` with every problem of the input, writing nothing then."""
    problems = Problems()
    dataset = load_dataset(data_dir)  # raises on invalid signals: they are what the queue is checked against
    queue = read_queue(data_dir, problems)
    dropped = read_dropped(data_dir)
    files = raw_files(raw, problems)
    posts = list(read_raw(files, problems))
    problems.raise_if_any()

    result = Ingested(read=len(posts))
    nodes: list[_Node] = []
    by_key: dict[str, int] = {}
    frame = dataset.frame
    for identifier, url, title, created in zip(frame["id"], frame["url"], frame["title"], frame["created"], strict=True):
        key = url_key(str(url))[0] or str(url)
        by_key.setdefault(key, len(nodes))
        nodes.append(_Node("coded", str(identifier), str(url), str(title), None if created is None else str(created),
                           len(nodes)))
    for entry in queue:
        key = url_key(entry.url)[0] or entry.url
        by_key.setdefault(key, len(nodes))
        nodes.append(_Node("queued", entry.id, entry.url, entry.title, entry.created, len(nodes)))
    dropped_keys = {url_key(str(d.get("url", "")))[0] for d in dropped}
    taken = {node.id for node in nodes} | {str(d.get("id", "")) for d in dropped}
    bodies: dict[int, str] = {}
    extra_duplicates: dict[int, list[Duplicate]] = {}
    found_by: dict[int, list[str]] = {}

    for post in posts:
        if post.key in dropped_keys:
            result.dropped_before += 1
            continue
        first = by_key.get(post.key)
        if first is not None:
            node = nodes[first]
            if node.is_ == "coded":
                result.already_coded += 1
            elif node.is_ == "queued":
                result.already_queued += 1
            else:
                if post.post.query and post.post.query not in found_by[first]:
                    found_by[first].append(post.post.query)
                if post.post.url != node.url:
                    extra_duplicates[first].append(Duplicate(url=post.post.url, similarity=1.0))
                    result.merges.append(Merge("same URL", node.id, node.url, "new", post.post.url, post.post.title,
                                               1.0, post.where))
            continue
        identifier = post_id(post.key, taken)
        taken.add(identifier)
        by_key[post.key] = len(nodes)
        bodies[len(nodes)] = post.post.body
        extra_duplicates[len(nodes)] = []
        found_by[len(nodes)] = [post.post.query] if post.post.query else []
        nodes.append(_Node("new", identifier, post.post.url, post.post.title, post.post.created, len(nodes), post))

    texts = [similar.Text.of(node.title, bodies.get(number, "")) for number, node in enumerate(nodes)]
    is_new = [node.is_ == "new" for node in nodes]
    if method == "auto":
        method = "exhaustive" if len(nodes) <= similar.EXHAUSTIVE else "lsh"
    result.method = {"exhaustive": "every pair compared", "lsh": "MinHash-LSH candidates"}[method]
    found = similar.pairs(texts, threshold, method, only=is_new) if any(is_new) else []

    # Group alike posts (union-find); each new post merged joins its group's kept post.
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rank = {"coded": 0, "queued": 1, "new": 2}

    def preferred(i: int) -> tuple[int, int, str, int]:
        node = nodes[i]
        return (rank[node.is_], 0 if node.created else 1, node.created or "", node.order)

    for i, j, _ in found:
        a, b = root(i), root(j)
        if a == b:
            continue
        if nodes[a].is_ != "new" and nodes[b].is_ != "new":
            continue  # two posts already coded or queued: not ingest's to merge
        keep, lose = (a, b) if preferred(a) <= preferred(b) else (b, a)
        parent[lose] = keep
    merged_into: dict[int, int] = {}
    for number, node in enumerate(nodes):
        if node.is_ == "new" and root(number) != number:
            merged_into[number] = root(number)
    pair_score: dict[tuple[int, int], float] = {}
    for i, j, score in found:
        pair_score[(i, j)] = pair_score[(j, i)] = score
    for number, keep in sorted(merged_into.items()):
        node, kept = nodes[number], nodes[keep]
        score = pair_score.get((number, keep)) or similar.similarity(texts[number], texts[keep])
        if kept.is_ == "new":
            extra_duplicates[keep].append(Duplicate(url=node.url, similarity=round(score, 4)))
            extra_duplicates[keep].extend(extra_duplicates.get(number, []))
        assert node.post is not None
        result.merges.append(Merge("near-duplicate", kept.id, kept.url, kept.is_, node.url, node.title,
                                   round(score, 4), node.post.where))

    for number, node in enumerate(nodes):
        if node.is_ != "new" or number in merged_into:
            continue
        assert node.post is not None
        raw_post = node.post.post
        result.queued.append(QueueEntry(
            id=node.id, url=raw_post.url, source=raw_post.source, community=raw_post.community or raw_post.source,
            title=raw_post.title, body=raw_post.body, created=raw_post.created, author=raw_post.author,
            score=raw_post.score, found_by=tuple(found_by[number]), sample=sample, corpus=corpus,
            duplicates=tuple(extra_duplicates[number])))
    result.merges.sort(key=lambda m: (m.kept_url, m.merged_url))
    write_queue(data_dir, [*queue, *result.queued])
    write_atomic(report or data_dir / REPORT_FILE, report_csv(result.merges))
    return result


#: What a spreadsheet would run as a formula (the build's published CSV guards the same way).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def report_csv(merges: list[Merge]) -> str:
    """The merges as CSV: one row per merged post with both URLs and the similarity."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "similarity", "kept_id", "kept", "kept_url", "merged_url", "merged_title", "merged_from"])
    for m in merges:
        row = [m.kind, f"{m.similarity:.4f}", m.kept_id, m.kept_is, m.kept_url, m.merged_url, m.merged_title, m.where]
        writer.writerow(["'" + cell if cell.startswith(_FORMULA) else cell for cell in row])
    return out.getvalue()
