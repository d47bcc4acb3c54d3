"""How far the classifier's suggestions agree with the coders: the figures ``memokit agreement
--save`` writes to ``data/agreement.json`` and the build shows beside the coded-by shares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictInt

AGREEMENT_FILE = "agreement.json"


class AgreementSummary(BaseModel):
    """Cross-validated agreement (Cohen's kappa) of suggestions with the coders' themes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The coded posts it was measured on, and in how many folds.
    posts: StrictInt = Field(ge=1)
    folds: StrictInt = Field(ge=2)
    kappa: float = Field(ge=-1, le=1)
    accuracy: float = Field(ge=0, le=1)
    #: The least probability at which ``memokit suggest`` makes a suggestion (below it, it abstains).
    threshold: float = Field(ge=0, le=1)
    #: On the posts whose best probability reaches the threshold: their share, kappa and accuracy.
    kept_share: float = Field(ge=0, le=1)
    kept_kappa: float | None = Field(default=None, ge=-1, le=1)
    kept_accuracy: float | None = Field(default=None, ge=0, le=1)
    #: The same with the threshold chosen without the posts it is measured on (nested
    #: cross-validation): what to expect on posts the classifier has not seen.
    unseen_kept_share: float = Field(ge=0, le=1)
    unseen_kept_kappa: float | None = Field(default=None, ge=-1, le=1)
    #: The kappa the threshold was chosen to reach.
    target: float = Field(default=0.8, ge=-1, le=1)
    #: ``coded_digest`` of the signals it was measured on (absent from files written before it
    #: was recorded: they are judged by ``posts`` alone).
    data_digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")


def coded_digest(titles: Iterable[object], themes: Iterable[object]) -> str:
    """A digest of the coded posts as the classifier learns from them: each signal's title and
    theme, in any order (bodies come from raw posts, which the build does not read)."""
    pairs = sorted(json.dumps([str(title), str(theme)], ensure_ascii=False)
                   for title, theme in zip(titles, themes, strict=True))
    found = hashlib.sha256()
    for pair in pairs:
        found.update(pair.encode("utf-8") + b"\n")
    return f"sha256:{found.hexdigest()}"


@dataclass(frozen=True)
class Stale:
    """Agreement figures measured on other coded posts than the data has now."""

    measured: int
    measured_digest: str | None
    now: int
    digest: str

    def warning(self, path: Path | str) -> str:
        """One line: the file, what it was measured on, what the data has now, what to do."""
        then = f" (data {self.measured_digest[7:19]})" if self.measured_digest else ""
        now = (f"{self.now:,}" if self.now != self.measured or not self.measured_digest
               else f"{self.now:,} with titles or themes changed")
        return (f"{path} was measured on {self.measured:,} coded posts{then}; the data now has {now} "
                f"(data {self.digest[7:19]}): its figures are out of date; rerun memokit agreement --save")


def staleness(summary: AgreementSummary, posts: int, digest: str) -> Stale | None:
    """Whether ``summary`` was measured on other coded posts than ``posts`` of ``digest``
    (``coded_digest``): a file recording its digest is judged by it, an older one by its count."""
    if (summary.data_digest == digest) if summary.data_digest else (summary.posts == posts):
        return None
    return Stale(summary.posts, summary.data_digest, posts, digest)


def landis_koch(kappa: float) -> str:
    """Landis and Koch's (1977) words for a kappa: 0.61–0.80 substantial, 0.81–1.00 almost perfect."""
    kappa = round(kappa, 2)
    if kappa < 0:
        return "poor"
    for bound, words in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if kappa <= bound:
            return words
    return "almost perfect"
