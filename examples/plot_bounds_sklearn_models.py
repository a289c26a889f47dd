"""
===============================================================
Lipschitz bounds of scikit-learn models, and how tight they are
===============================================================

sklip bounds the Lipschitz constant of scikit-learn's own models too:
``MLPClassifier``, the linear models and pipelines with affine
preprocessing. Here the certified upper bounds (Frobenius product, spectral
product, Combettes-Pesquet) of small scikit-learn MLPs are compared with a
**brute-force lower bound**: the largest Jacobian norm over a dense grid of
the (2-D) input plane, and with sklip's own
:func:`~sklip.lipschitz_lower_bound` (Jacobian norms on the data plus
gradient ascent). Every certified bound must lie above every lower bound; the
gap is how loose the certificate is.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklip import as_network, lipschitz_bound, lipschitz_lower_bound

X, y = make_moons(n_samples=300, noise=0.2, random_state=0)

# %%
# Brute force on a 2-D input
# --------------------------
# For a piecewise-linear network the constant is the largest spectral norm
# of the Jacobian over the input space; on a fine grid of the plane around
# the data we can evaluate it everywhere with finite differences of the
# network's logit (binary models have one logit).


def brute_force_lower_bound(model, n=300, h=1e-5):
    net = as_network(model)
    lo, hi = X.min(axis=0) - 1.0, X.max(axis=0) + 1.0
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    P = np.column_stack([g0.ravel(), g1.ravel()])
    grad = np.column_stack(
        [
            (net.forward(P + h * e) - net.forward(P - h * e))[:, 0] / (2 * h)
            for e in np.eye(2)
        ]
    )
    return np.linalg.norm(grad, axis=1).max()


models = {
    "logistic regression": make_pipeline(StandardScaler(), LogisticRegression()),
    "MLP (16,)": MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=0),
    "MLP (32, 32)": MLPClassifier(
        hidden_layer_sizes=(32, 32), max_iter=2000, random_state=0
    ),
    "MLP (32, 32, 32), tanh": MLPClassifier(
        hidden_layer_sizes=(32, 32, 32),
        activation="tanh",
        max_iter=2000,
        random_state=0,
    ),
}
rows = {}
for name, model in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    row = {m: lipschitz_bound(model, method=m) for m in ("frobenius", "spectral")}
    row["combettes-pesquet"] = lipschitz_bound(model, method="combettes-pesquet")
    row["ascent (sklip)"] = lipschitz_lower_bound(model, X, random_state=0)
    row["grid (brute force)"] = brute_force_lower_bound(model)
    # Certified upper bounds are never below an attained slope.
    assert row["combettes-pesquet"] >= max(
        row["ascent (sklip)"], row["grid (brute force)"]
    ) * (1 - 1e-4)
    rows[name] = row
    best_lower = max(row["ascent (sklip)"], row["grid (brute force)"])
    print(
        f"{name:24s} "
        + " ".join(f"{k}={v:8.3f}" for k, v in row.items())
        + f"  CP / best lower = {row['combettes-pesquet'] / best_lower:.2f}"
    )

# %%
# Upper and lower bounds side by side
# -----------------------------------
# For the linear model every bound is exact. For the MLPs the
# Combettes-Pesquet bound is the tightest certificate, the Frobenius
# product the loosest; sklip's ascent finds nearly the brute-force slope
# without a grid (which is only possible in two dimensions).
fig, ax = plt.subplots(figsize=(8, 4))
names = list(rows)
keys = list(next(iter(rows.values())))
width = 0.8 / len(keys)
for k, key in enumerate(keys):
    ax.bar(
        np.arange(len(names)) + k * width,
        [rows[n][key] for n in names],
        width,
        label=key,
        hatch="//" if "brute" in key or "ascent" in key else None,
    )
ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, fontsize=8)
ax.set(yscale="log", ylabel="Lipschitz constant (L2, raw inputs)")
ax.legend(fontsize=8, title="upper bounds / lower bounds (hatched)")
fig.tight_layout()
plt.show()
