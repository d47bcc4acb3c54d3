"""Near-duplicates: the same post filed twice, cross-posted, or asked again elsewhere.

Two posts are compared on their title and the opening of their body when both have a body, and
on their titles alone when one has none (a coded signal often keeps only its title). The
similarity is rapidfuzz's normalised Indel similarity (``fuzz.ratio`` / 100) of the two texts,
lower-cased, with punctuation as space. Titles shorter than ``MIN_TITLE`` characters say too
little to call two posts the same and are never matched on the title alone.

Small inputs are compared pair by pair (``rapidfuzz.process.cdist``, every core). Large ones first
find candidate pairs with MinHash-LSH (datasketch) on word shingles, then score only those with
rapidfuzz, so 100,000 posts take seconds rather than the hours of five billion comparisons.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz, process

#: Default least similarity for two posts to count as the same.
THRESHOLD = 0.9
#: How much of a body is compared: cross-posts and re-filed issues share their opening.
BODY_CHARS = 1000
#: Titles shorter than this (normalised) are never matched on the title alone.
MIN_TITLE = 20
#: Up to this many texts, every pair is compared; above it, MinHash-LSH proposes the pairs.
EXHAUSTIVE = 3000
NUM_PERM = 64
#: LSH finds pairs whose shingles overlap this much (Jaccard); a 0.9 character similarity
#: of two texts leaves far more than this of their word shingles in common.
LSH_JACCARD = 0.3
_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", text.lower()).split())


@dataclass(frozen=True)
class Text:
    """What one post is compared on."""

    title: str
    full: str  # title and body opening; equal to title where there is no body
    has_body: bool

    @classmethod
    def of(cls, title: str, body: str) -> Text:
        t = normalise(title)
        b = normalise(body[:BODY_CHARS]) if body else ""
        return cls(t, f"{t} {b}" if b else t, bool(b))


def similarity(a: Text, b: Text) -> float:
    """The similarity of two posts, 0 to 1 (see the module's docstring)."""
    if a.has_body and b.has_body:
        return fuzz.ratio(a.full, b.full) / 100
    if len(a.title) < MIN_TITLE or len(b.title) < MIN_TITLE:
        return 0.0
    return fuzz.ratio(a.title, b.title) / 100


def pairs(texts: Sequence[Text], threshold: float = THRESHOLD, method: str = "auto",
          only: Sequence[bool] | None = None) -> list[tuple[int, int, float]]:
    """Every pair (i, j, similarity) with i < j and similarity ≥ ``threshold``, sorted. ``only``
    marks the texts of which at least one must be in a pair (new posts, against everything);
    ``method`` is ``exhaustive``, ``lsh`` or ``auto`` (by size)."""
    if method == "auto":
        method = "exhaustive" if len(texts) <= EXHAUSTIVE else "lsh"
    wanted = np.ones(len(texts), dtype=bool) if only is None else np.asarray(only, dtype=bool)
    found = _exhaustive(texts, threshold) if method == "exhaustive" else _lsh(texts, threshold)
    return sorted((i, j, s) for i, j, s in found if wanted[i] or wanted[j])


def _exhaustive(texts: Sequence[Text], threshold: float) -> list[tuple[int, int, float]]:
    if len(texts) < 2:
        return []
    cutoff = threshold * 100
    body = np.asarray([t.has_body for t in texts])
    found: set[tuple[int, int]] = set()
    for kind, chosen in (("full", np.flatnonzero(body)), ("title", np.arange(len(texts)))):
        if len(chosen) < 2:
            continue
        strings = [texts[int(i)].full if kind == "full" else texts[int(i)].title for i in chosen]
        scores = process.cdist(strings, strings, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=-1)
        for a, b in zip(*np.nonzero(np.triu(scores, 1)), strict=True):
            found.add((int(chosen[a]), int(chosen[b])))
    return _scored(texts, found, threshold)


def _shingles(text: str, size: int) -> set[bytes]:
    words = text.split()
    if len(words) < size:
        return {text.encode()} if text else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def _lsh(texts: Sequence[Text], threshold: float) -> list[tuple[int, int, float]]:
    found: set[tuple[int, int]] = set()
    body = [i for i, t in enumerate(texts) if t.has_body]
    titled = [i for i, t in enumerate(texts) if len(t.title) >= MIN_TITLE]
    # Bodies on word 3-grams; titles (for pairs where one post has no body) on word 2-grams,
    # indexing only the posts without a body and asking with every title.
    passes: list[tuple[list[int], list[int], Callable[[Text], set[bytes]]]] = [
        (body, body, lambda t: _shingles(t.full, 3))]
    no_body = [i for i in titled if not texts[i].has_body]
    if no_body:
        passes.append((no_body, titled, lambda t: _shingles(t.title, 2)))
    for indexed, asking, shingle in passes:
        if not indexed:
            continue
        everyone = sorted(set(indexed) | set(asking))
        signatures: list[MinHash] = MinHash.bulk([shingle(texts[i]) for i in everyone], num_perm=NUM_PERM)
        hashes = dict(zip(everyone, signatures, strict=True))
        lsh = MinHashLSH(threshold=LSH_JACCARD, num_perm=NUM_PERM)
        with lsh.insertion_session() as session:
            for i in indexed:
                session.insert(i, hashes[i], check_duplication=False)
        for i in asking:
            for j in lsh.query(hashes[i]):
                if i != j:
                    found.add((min(i, j), max(i, j)))
    return _scored(texts, found, threshold)


def _scored(texts: Sequence[Text], candidates: set[tuple[int, int]], threshold: float) -> list[tuple[int, int, float]]:
    out = []
    for i, j in candidates:
        score = similarity(texts[i], texts[j])
        if score >= threshold:
            out.append((i, j, score))
    return out
