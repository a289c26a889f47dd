"""
Training for a target certified radius
======================================

A Lipschitz penalty makes a network smoother, but a certificate needs more:
at every sample, the margin between the predicted logit and its rivals must
exceed ``eps`` times the Lipschitz constant of their difference. The
classifier's ``lipschitz_margin=eps`` asks the loss for exactly that margin
during training (Lipschitz-margin training; with ``margin_kind="pairwise"``,
the per-pair constants of Globally-Robust Networks), and ``max_lipschitz``
caps the certified Lipschitz constant outright.

This example picks, by cross-validation, the model with the most samples
certified at L2 radius ``eps = 0.5`` (raw pixel units, pixels in [0, 1])
among the models whose clean accuracy is at least a target. The choice is a
``refit`` callable of :class:`~sklearn.model_selection.GridSearchCV`; it
says so when no candidate reaches the target accuracy.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from sklip import LipschitzMLPClassifier, certified_accuracy, lipschitz_bound
from sklip.robustness import make_robustness_scorer

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X = X / 16  # raw units are the pixel intensities in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
EPS = 0.5  # target certified radius, L2, raw units

# %%
# The refit rule: the most certified candidate among those accurate enough.


def most_certified(min_accuracy):
    """A ``refit`` callable: best certified accuracy with clean accuracy at
    least ``min_accuracy``; when no candidate qualifies it warns and falls
    back to the most accurate candidate."""

    def choose(cv_results):
        accuracy = np.asarray(cv_results["mean_test_accuracy"])
        certified = np.asarray(cv_results["mean_test_certified"])
        ok = np.flatnonzero(accuracy >= min_accuracy)
        if ok.size == 0:
            best = int(np.argmax(accuracy))
            warnings.warn(
                f"No candidate reaches a cross-validated accuracy of "
                f"{min_accuracy:.3f} (best: {accuracy[best]:.3f}); refitting "
                f"the most accurate one, {cv_results['params'][best]}.",
                UserWarning,
                stacklevel=2,
            )
            return best
        return int(ok[np.argmax(certified[ok])])

    return choose


scoring = {
    "accuracy": "accuracy",
    "certified": make_robustness_scorer(eps=EPS, metric="certified_accuracy"),
}
grid = [
    {"alpha": [1.0, 30.0]},  # penalty only
    {"lipschitz_margin": [EPS, 2 * EPS], "alpha": [1e-4, 1.0]},  # margin
    {"max_lipschitz": [2.0, 4.0]},  # hard budget
]
search = GridSearchCV(
    LipschitzMLPClassifier(
        hidden_layer_sizes=(64,),
        learning_rate_init=0.01,
        max_iter=40,
        random_state=0,
    ),
    grid,
    scoring=scoring,
    refit=most_certified(min_accuracy=0.9),
    cv=2,
).fit(X_train, y_train)

best = search.best_estimator_
print("chosen:", search.best_params_)
cert = certified_accuracy(best, X_test, y_test, eps=EPS)
print(
    f"test accuracy {best.score(X_test, y_test):.3f}, certified accuracy at "
    f"L2 eps={EPS} (raw units) {cert:.3f}, "
    f"Lipschitz bound {lipschitz_bound(best):.3f} (raw units)"
)

# %%
# An unreachable target: the refit rule says so (and falls back).
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    most_certified(min_accuracy=0.999)(search.cv_results_)
print(caught[0].message)

# %%
# Every candidate: cross-validated clean accuracy against certified accuracy.
results = search.cv_results_
labels = [
    "margin"
    if p.get("lipschitz_margin")
    else "budget"
    if p.get("max_lipschitz")
    else "penalty only"
    for p in results["params"]
]
fig, ax = plt.subplots(figsize=(6, 4))
for label, marker in [("penalty only", "o"), ("margin", "s"), ("budget", "^")]:
    idx = [i for i, lab in enumerate(labels) if lab == label]
    ax.scatter(
        results["mean_test_accuracy"][idx],
        results["mean_test_certified"][idx],
        marker=marker,
        label=label,
    )
ax.axvline(0.9, color="grey", linestyle=":", label="target accuracy")
ax.set_xlabel("cross-validated accuracy")
ax.set_ylabel(f"certified accuracy at L2 eps={EPS} (raw units)")
ax.legend()
fig.tight_layout()
plt.show()
