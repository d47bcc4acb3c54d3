"""How far the classifier's suggestions agree with the coders: the figures ``memokit agreement
--save`` writes to ``data/agreement.json`` and the build shows beside the coded-by shares."""

from __future__ import annotations

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


def landis_koch(kappa: float) -> str:
    """Landis and Koch's (1977) words for a kappa: 0.61–0.80 substantial, 0.81–1.00 almost perfect."""
    kappa = round(kappa, 2)
    if kappa < 0:
        return "poor"
    for bound, words in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial")):
        if kappa <= bound:
            return words
    return "almost perfect"
