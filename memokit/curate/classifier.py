"""The theme classifier: TF-IDF of words and of character n-grams, a linear support-vector
machine with class weights balanced against the themes' sizes, and probabilities calibrated by
cross-validation (temperature scaling), all scikit-learn, all offline. It reads a post's title and
body (its title alone where it has no body), never the coder's summary, which is written knowing
the theme; and it learns from the codebook too: each theme's label and definition, as the coders
read them, is one more training document of that theme."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

#: Measured on the flagship corpus (bench/agreement): words weigh half as much as character
#: n-grams, which catch the word forms and code identifiers of titles (``load_best_model_at_end``).
WORD_WEIGHT = 0.5
C = 0.5
#: Themes weighed inversely to their size, so that a small theme (14 posts of 558 in the flagship) is
#: suggested at all rather than folded into its large neighbours.
CLASS_WEIGHT = "balanced"
#: Temperature scaling (one temperature for all themes, the decision values' ranking kept) ranked
#: the posts it is sure of better than Platt's one-against-the-rest sigmoids, renormalised
#: (bench/README.md, "bench/agreement").
CALIBRATION = "temperature"
CALIBRATION_FOLDS = 5
#: The fewest coded posts of a theme for the classifier to learn it (calibration splits each theme
#: into ``CALIBRATION_FOLDS`` parts).
MIN_PER_THEME = CALIBRATION_FOLDS
EVIDENCE_WORDS = 5


def text_of(title: str, body: str = "") -> str:
    """What the classifier reads of a post."""
    return f"{title}\n{body}" if body else title


def with_codebook(texts: Sequence[str], themes: Sequence[str],
                  codebook: Mapping[str, str] | None) -> tuple[list[str], list[str]]:
    """The training documents: the coded posts, and the codebook's text of each theme they hold
    (a theme nobody has coded yet is not added: one definition is too little to suggest it on).
    Measured on the flagship corpus it raised kappa on all posts on each of eight fold seeds, by
    0.4 to 0.9 points (bench/README.md, "bench/agreement")."""
    texts, themes = list(texts), [str(t) for t in themes]
    coded = set(themes)
    for theme, text in (codebook or {}).items():
        if theme in coded and text.strip():
            texts.append(text)
            themes.append(theme)
    return texts, themes


def make_model() -> Pipeline:
    features = FeatureUnion(
        [("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
         ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))],
        transformer_weights={"words": WORD_WEIGHT, "chars": 1.0})
    svm = LinearSVC(C=C, class_weight=CLASS_WEIGHT)
    return Pipeline([("features", features),
                     ("model", CalibratedClassifierCV(svm, method=CALIBRATION, cv=CALIBRATION_FOLDS))])


class TooFewPosts(ValueError):
    """The coded posts cannot train a classifier (a theme with too few posts, one theme only)."""


def too_few(themes: Sequence[str], need: int) -> list[str]:
    """Each theme with fewer than ``need`` coded posts, as ``theme (count)``."""
    values, counts = np.unique(np.asarray(themes, dtype=object), return_counts=True)
    return [f"{v} ({c})" for v, c in zip(values, counts, strict=True) if c < need]


def check_trainable(themes: Sequence[str]) -> None:
    if len(set(themes)) < 2:
        raise TooFewPosts("the coded signals hold fewer than two themes: nothing to tell apart")
    few = too_few(themes, MIN_PER_THEME)
    if few:
        raise TooFewPosts(f"every theme needs at least {MIN_PER_THEME} coded posts to learn from; too few: "
                          + ", ".join(few))


@dataclass
class Classifier:
    """A trained classifier and its themes."""

    pipeline: Pipeline
    themes: tuple[str, ...]

    @classmethod
    def train(cls, texts: Sequence[str], themes: Sequence[str], codebook: Mapping[str, str] | None = None) -> Classifier:
        """Train on the coded posts' texts and themes, and on the ``codebook``'s text per theme."""
        check_trainable(themes)
        documents, labels = with_codebook(texts, themes, codebook)
        pipeline = make_model().fit(documents, np.asarray(labels, dtype=object))
        return cls(pipeline, tuple(str(t) for t in pipeline.classes_))

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(list(texts)))

    def evidence(self, texts: Sequence[str], themes: Sequence[str], top: int = EVIDENCE_WORDS) -> list[tuple[str, ...]]:
        """For each text, the words (and word pairs) in it that pushed it most towards ``theme``:
        their TF-IDF weight times the linear model's weight for the theme, largest first."""
        features: FeatureUnion = self.pipeline.named_steps["features"]
        words: TfidfVectorizer = dict(features.transformer_list)["words"]
        vocabulary = words.get_feature_names_out()
        calibrated: CalibratedClassifierCV = self.pipeline.named_steps["model"]
        n_words = len(vocabulary)
        # The calibration trains one SVM per fold: their mean is the model's linear part.
        coef = np.mean([c.estimator.coef_[:, :n_words] for c in calibrated.calibrated_classifiers_], axis=0)
        matrix = words.transform(list(texts)) * WORD_WEIGHT
        index = {theme: number for number, theme in enumerate(self.themes)}
        out: list[tuple[str, ...]] = []
        for row, theme in enumerate(themes):
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            columns, values = matrix.indices[start:end], matrix.data[start:end]
            weights = coef[index[theme] if coef.shape[0] > 1 else 0, columns] * values
            if coef.shape[0] == 1 and index[theme] == 0:
                weights = -weights  # two themes: one row of weights, for the second
            order = np.argsort(-weights, kind="stable")
            out.append(tuple(str(vocabulary[columns[i]]) for i in order[:top] if weights[i] > 0))
        return out
