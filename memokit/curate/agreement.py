"""``memokit agreement``: how far the classifier's suggestions agree with the coders, measured by
stratified k-fold cross-validation on the coded signals (each post suggested by a model that never
saw it).

Reported: Cohen's kappa and accuracy on every post and on the posts it does not abstain on, the
share it abstains on, per-theme precision and recall, the confusion matrix, and the abstention
threshold that reaches the target kappa (0.8) on the posts it keeps. That threshold is chosen on
the same predictions it is then measured on, which flatters it; so the threshold is also chosen
inside each training fold alone (nested cross-validation) and applied to the held-out fold: the
figure to expect on posts not seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from math import ceil

import numpy as np
from sklearn.metrics import cohen_kappa_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from ..model.agreement import AgreementSummary, landis_koch
from ..model.problems import printable
from .classifier import MIN_PER_THEME, Classifier, TooFewPosts, check_trainable, too_few

TARGET = 0.8
#: Ten folds, so that each model is trained on nine tenths of the coded posts (81% in the nested
#: loop): the classifier is short of data (its kappa still rises with every hundred posts), so
#: fewer folds measure a weaker model than the one ``memokit suggest`` trains on all of them, and
#: the threshold chosen on it is too cautious for that one (bench/README.md, "bench/agreement").
FOLDS = 10
SEED = 0
#: A threshold is judged on at least this many kept posts (a kappa of five posts says nothing).
MIN_KEPT = 20


def _can_split(posts: int, folds: int, levels: int) -> bool:
    """Whether a theme's ``posts`` can be cross-validated ``levels`` deep: at each level the posts
    split have one in every fold (stratified folds share them as evenly as they can), and the
    innermost training part keeps ``MIN_PER_THEME`` of them for the calibration's own folds."""
    for _ in range(levels):
        if posts < folds:
            return False
        posts -= ceil(posts / folds)
    return posts >= MIN_PER_THEME


def posts_needed(folds: int, nested: bool = True) -> int:
    """The fewest coded posts of a theme for ``folds``-fold cross-validation (nested, or not)."""
    return next(m for m in count(folds) if _can_split(m, folds, 2 if nested else 1))


def fold_problem(themes: Sequence[str], folds: int, nested: bool = True) -> str | None:
    """Why ``folds``-fold cross-validation (nested, or not) cannot run on these coded themes."""
    need = posts_needed(folds, nested)
    few = too_few(themes, need)
    if not few:
        return None
    return (f"{folds}-fold {'nested ' if nested else ''}cross-validation needs at least {need} coded posts of every "
            "theme; too few: " + ", ".join(few))


def default_folds(themes: Sequence[str], nested: bool = True) -> int:
    """``FOLDS``, or as many as the smallest theme allows (down to 2)."""
    check_trainable(themes)
    for folds in range(FOLDS, 1, -1):
        if fold_problem(themes, folds, nested) is None:
            return folds
    need = min(posts_needed(folds, nested) for folds in range(2, FOLDS + 1))
    raise TooFewPosts(f"{'nested ' if nested else ''}cross-validation needs at least {need} coded posts of every "
                      "theme; too few: " + ", ".join(too_few(themes, need)))


def out_of_fold(texts: Sequence[str], themes: Sequence[str], folds: int = FOLDS, seed: int = SEED,
                codebook: Mapping[str, str] | None = None) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Each post's probabilities from a model trained without it (on the other posts and the
    ``codebook``); and the fold of each post."""
    check_trainable(themes)
    y = np.asarray(themes, dtype=object)
    classes = tuple(sorted(set(themes)))
    probabilities = np.zeros((len(y), len(classes)))
    fold_of = np.zeros(len(y), dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for number, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        model = Classifier.train([texts[i] for i in train], y[train], codebook)
        found = model.probabilities([texts[i] for i in test])
        for column, theme in enumerate(model.themes):
            probabilities[test, classes.index(theme)] = found[:, column]
        fold_of[test] = number
    return probabilities, classes, fold_of


def kappa(truth: np.ndarray, predicted: np.ndarray) -> float | None:
    if len(truth) == 0:
        return None
    if len(set(truth) | set(predicted)) == 1:
        return 1.0  # every post the same theme, all agreed
    return float(cohen_kappa_score(truth, predicted))


def choose_threshold(truth: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                     target: float = TARGET) -> float:
    """The lowest probability such that the posts at or above it reach ``target`` kappa (keeping
    at least ``MIN_KEPT``): the most posts suggested at that agreement. 1.0 if none does."""
    best = 1.0
    for threshold in np.unique(confidence)[::-1]:
        keep = confidence >= threshold
        if keep.sum() < MIN_KEPT:
            continue
        value = kappa(truth[keep], predicted[keep])
        if value is not None and value >= target:
            best = float(threshold)
    return best


@dataclass
class Agreement:
    """The figures of one cross-validation."""

    truth: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    classes: tuple[str, ...]
    threshold: float
    unseen_keep: np.ndarray  # kept under thresholds chosen inside each training fold
    folds: int
    target: float

    @property
    def kept(self) -> np.ndarray:
        return self.confidence >= self.threshold

    def summary(self) -> AgreementSummary:
        kept, unseen = self.kept, self.unseen_keep
        overall = kappa(self.truth, self.predicted)
        assert overall is not None
        return AgreementSummary(
            posts=len(self.truth), folds=self.folds, kappa=round(overall, 4),
            accuracy=round(float(np.mean(self.truth == self.predicted)), 4),
            threshold=round(self.threshold, 4), kept_share=round(float(kept.mean()), 4),
            kept_kappa=_round(kappa(self.truth[kept], self.predicted[kept])),
            kept_accuracy=_round(float(np.mean(self.truth[kept] == self.predicted[kept])) if kept.any() else None),
            unseen_kept_share=round(float(unseen.mean()), 4),
            unseen_kept_kappa=_round(kappa(self.truth[unseen], self.predicted[unseen])),
            target=self.target)

    def per_theme(self) -> list[tuple[str, int, float, float, float | None, float | None]]:
        """(theme, posts, precision, recall, and both on the kept posts) per theme."""
        p, r, _, support = precision_recall_fscore_support(self.truth, self.predicted, labels=list(self.classes),
                                                           zero_division=0)
        kept = self.kept
        kp, kr, _, ks = precision_recall_fscore_support(self.truth[kept], self.predicted[kept],
                                                        labels=list(self.classes), zero_division=0)
        return [(theme, int(support[i]), float(p[i]), float(r[i]),
                 float(kp[i]) if (self.predicted[kept] == theme).any() else None,
                 float(kr[i]) if ks[i] else None) for i, theme in enumerate(self.classes)]

    def confusion(self) -> np.ndarray:
        return np.asarray(confusion_matrix(self.truth, self.predicted, labels=list(self.classes)))

    def report(self) -> str:
        """The figures as text for the terminal."""
        s = self.summary()
        lines = [f"agreement of suggested themes with the coders, by {s.folds}-fold cross-validation on {s.posts:,} "
                 "coded posts (each suggested by a model that never saw it):",
                 f"  all posts:       kappa {s.kappa:.2f} ({landis_koch(s.kappa)}), accuracy {s.accuracy:.0%}"]
        if s.kept_kappa is not None and s.kept_accuracy is not None:
            lines.append(f"  kept posts:      kappa {s.kept_kappa:.2f} ({landis_koch(s.kept_kappa)}), accuracy "
                         f"{s.kept_accuracy:.0%}, on the {s.kept_share:.0%} whose suggestion reaches probability "
                         f"{s.threshold:.2f}; it abstains on {1 - s.kept_share:.0%}")
        else:
            lines.append(f"  no threshold reaches kappa {self.target:.2f} on {MIN_KEPT} posts or more: it would "
                         "abstain on every post")
        unseen = f"kappa {s.unseen_kept_kappa:.2f}" if s.unseen_kept_kappa is not None else "no kappa (nothing kept)"
        lines.append(f"  unseen posts:    {unseen} on the {s.unseen_kept_share:.0%} kept when the threshold is chosen "
                     "without them (nested cross-validation)")
        lines.append(f"  threshold for kappa ≥ {self.target:.2f} on the kept posts: {s.threshold:.2f}")
        lines.append("  (Landis and Koch: 0.41–0.60 moderate, 0.61–0.80 substantial, 0.81–1.00 almost perfect)")
        lines.append("")
        width = max(len(t) for t in self.classes)
        lines.append(f"  {'theme':<{width}}  posts  precision  recall  | kept: precision  recall")
        for theme, posts, p, r, kp, kr in self.per_theme():
            kept = f"{_pct(kp):>15}  {_pct(kr):>6}"
            lines.append(f"  {printable(theme):<{width}}  {posts:>5}  {p:>9.0%}  {r:>6.0%}  | {kept}")
        lines.append("")
        lines.append("  confusion (rows: the coders' theme; columns: the suggestion, numbered as the rows)")
        matrix = self.confusion()
        lines.append(f"  {'':<{width + 4}}" + "".join(f"{n + 1:>5}" for n in range(len(self.classes))))
        for n, theme in enumerate(self.classes):
            lines.append(f"  {n + 1:>2}. {printable(theme):<{width}}" + "".join(f"{v:>5}" for v in matrix[n]))
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def measure(texts: Sequence[str], themes: Sequence[str], folds: int = FOLDS, seed: int = SEED,
            target: float = TARGET, codebook: Mapping[str, str] | None = None) -> Agreement:
    """Cross-validate the classifier on the coded posts; choose the threshold, plain and nested."""
    check_trainable(themes)
    problem = fold_problem(themes, folds)
    if problem:
        raise TooFewPosts(problem)
    probabilities, classes, fold_of = out_of_fold(texts, themes, folds, seed, codebook)
    truth = np.asarray(themes, dtype=object)
    predicted = np.asarray(classes, dtype=object)[probabilities.argmax(axis=1)]
    confidence = probabilities.max(axis=1)
    threshold = choose_threshold(truth, predicted, confidence, target)
    # Nested: for each outer fold, the threshold comes from cross-validating its training part alone.
    unseen = np.zeros(len(truth), dtype=bool)
    for number in range(folds):
        train = np.flatnonzero(fold_of != number)
        test = np.flatnonzero(fold_of == number)
        inner, inner_classes, _ = out_of_fold([texts[int(i)] for i in train], list(truth[train]), folds, seed, codebook)
        inner_predicted = np.asarray(inner_classes, dtype=object)[inner.argmax(axis=1)]
        fold_threshold = choose_threshold(truth[train], inner_predicted, inner.max(axis=1), target)
        unseen[test] = confidence[test] >= fold_threshold
    return Agreement(truth, predicted, confidence, classes, threshold, unseen, folds, target)
