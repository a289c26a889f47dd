"""attack="pgd" against a textbook PGD written here, and what step_size means."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklip.lipschitz import as_network
from sklip.robustness import perturb

from .._robustness_models import (
    blobs,
    digits,
    logreg,
    mlp_binary,
    mlp_digits,
    mlp_multi,
    scaled_logreg,
)

NORMS = [2, np.inf]
_ACTS = {
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
}


def textbook_pgd(model, X, y, *, eps, norm, n_iter, step, clip=None):
    """Madry et al.'s PGD as common toolboxes run it without random
    initialisation: start at X, step along the sign (Linf) or the normalised
    (L2) input gradient of the cross-entropy, project onto the ball and the
    box, return the last iterate. Own forward/backward on the weights of
    the network view (a pipeline's scaler folded into the first layer)."""
    net = as_network(model)
    act, dact = _ACTS[net.activation]
    idx = np.searchsorted(model.classes_, y)
    x = X.astype(float).copy()
    for _ in range(n_iter):
        h, pre = x, []
        for i, (W, b) in enumerate(zip(net.coefs, net.intercepts)):
            pre.append(h @ W + b)
            h = act(pre[-1]) if i < net.n_layers - 1 else pre[-1]
        if h.shape[1] == 1:  # one logit z: CE = log(1 + exp(-s z))
            s = np.where(idx == 1, 1.0, -1.0)[:, None]
            G = -s / (1.0 + np.exp(s * h))
        else:
            G = np.exp(h - h.max(axis=1, keepdims=True))
            G /= G.sum(axis=1, keepdims=True)
            G[np.arange(len(idx)), idx] -= 1.0  # softmax - onehot
        for i in reversed(range(net.n_layers)):
            if i < net.n_layers - 1:
                G = G * dact(pre[i])
            G = G @ net.coefs[i].T
        if norm == np.inf:
            x = x + step * np.sign(G)
            x = X + np.clip(x - X, -eps, eps)
        else:
            n = np.linalg.norm(G, axis=1, keepdims=True)
            x = x + step * G / np.maximum(n, 1e-300)  # dead ReLUs: G = 0
            r = np.linalg.norm(x - X, axis=1, keepdims=True)
            x = X + (x - X) * np.minimum(1.0, eps / np.maximum(r, 1e-300))
        if clip is not None:
            x = np.clip(x, *clip)
    return x


def _cases():
    pipe, Xp, yp = scaled_logreg()
    return [
        ("logreg_binary", logreg(), *blobs(2), 0.6, 0.25, None),
        ("logreg_multi", logreg(3), *blobs(3), 0.6, 0.25, None),
        ("pipeline", pipe, Xp, yp, 0.6, 0.25, None),
        ("mlp_binary", mlp_binary(), *blobs(2), 0.6, 0.25, None),
        ("mlp_multi_tanh", mlp_multi("tanh"), *blobs(3), 0.6, 0.25, None),
        ("mlp_digits_clip", mlp_digits(), *digits(), 6.0, 1.0, (0.0, 16.0)),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n_iter, fraction", [(10, 1 / 8), (5, 1 / 3)])
def test_pgd_never_weaker_than_textbook_pgd(case, norm, n_iter, fraction):
    """Same start, steps and projection, but sklip keeps the worst iterate:
    every sample the textbook's last iterate breaks, sklip breaks too."""
    _, model, X, y, eps2, eps_inf, clip = case
    eps = eps2 if norm == 2 else eps_inf
    kw = dict(eps=eps, norm=norm, n_iter=n_iter, clip=clip)
    X_ref = textbook_pgd(model, X, y, step=fraction * eps, **kw)
    X_adv = perturb(model, X, y, attack="pgd", step_size=fraction * eps, **kw)
    ref_ok, ok = model.predict(X_ref) == y, model.predict(X_adv) == y
    # Radii where the attack matters: neither nothing nor everything broken.
    assert 0 < ref_ok.sum() < (model.predict(X) == y).sum()
    assert not np.any(ok & ~ref_ok)


def test_first_restart_is_the_clean_point():
    """With one restart PGD is deterministic (no random start); further
    restarts are random draws."""
    X, y = digits()
    model = mlp_digits()
    kw = dict(eps=3.0, attack="pgd", n_iter=5)
    a = perturb(model, X, y, random_state=0, **kw)
    np.testing.assert_array_equal(a, perturb(model, X, y, random_state=1, **kw))
    b = perturb(model, X, y, n_restarts=2, random_state=0, **kw)
    c = perturb(model, X, y, n_restarts=2, random_state=1, **kw)
    assert not np.array_equal(b, c)


@pytest.mark.parametrize("norm", NORMS)
def test_step_size_is_absolute(norm):
    """One step from the clean point of a binary linear model moves exactly
    ``step_size`` in the attack's norm, whatever ``eps`` (a step relative to
    eps would move 0.3 * 2)."""
    X, y = blobs(2)
    X_adv = perturb(
        logreg(), X, y, eps=2.0, norm=norm, attack="pgd", n_iter=1, step_size=0.3
    )
    D = X_adv - X
    size = np.abs(D).max(axis=1) if norm == np.inf else np.linalg.norm(D, axis=1)
    np.testing.assert_allclose(size, 0.3, rtol=1e-12)


@pytest.mark.parametrize("norm", NORMS)
def test_step_size_changes_the_path(norm):
    X, y = digits()
    model = mlp_digits()
    eps = 3.0 if norm == 2 else 0.5
    kw = dict(eps=eps, norm=norm, attack="pgd", n_iter=4)
    small = perturb(model, X, y, step_size=eps / 8, **kw)
    large = perturb(model, X, y, step_size=eps / 3, **kw)
    assert np.mean(np.any(small != large, axis=1)) > 0.5
    # Four steps of eps / 8 cannot leave the half-radius ball: the step is
    # really used, not replaced by a default.
    D = small - X
    size = np.abs(D).max(axis=1) if norm == np.inf else np.linalg.norm(D, axis=1)
    assert np.all(size <= 4 * eps / 8 + 1e-12)
    assert np.max(size) > eps / 8


@pytest.mark.parametrize("n_iter", [5, 40])
def test_default_step_is_max_of_eighth_and_madry_rule(n_iter):
    X, y = digits()
    model = mlp_digits()
    kw = dict(eps=3.0, attack="pgd", n_iter=n_iter)
    explicit = perturb(model, X, y, step_size=max(3.0 / 8, 2.5 * 3.0 / n_iter), **kw)
    np.testing.assert_array_equal(perturb(model, X, y, **kw), explicit)


@pytest.mark.slow
def test_issue_table_digits_logistic_regression():
    """Issue 22: all of digits, standardised, L2 eps 1 (std units), 20 steps
    of eps / 8. The Adversarial Robustness Toolbox's ProjectedGradientDescent
    (1.20.1, no random init) leaves 1245 samples correct there."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=2000).fit(X, y)
    kw = dict(eps=1.0, norm=2, n_iter=20)
    X_ref = textbook_pgd(model, X, y, step=1.0 / 8, **kw)
    X_adv = perturb(model, X, y, attack="pgd", **kw)
    ok = int(np.sum(model.predict(X_adv) == y))
    assert ok <= np.sum(model.predict(X_ref) == y)
    assert ok <= 1245
