"""Digest a fixed grid of tiny fits, to prove a restructuring bit-identical.

Every penalty x solver x hidden activation x (classifier, regressor), each
plain, with ``warm_start`` (two fits), with ``partial_fit`` (three calls,
stochastic solvers), with ``early_stopping`` (stochastic solvers), behind
sklip's :func:`~sklip.pipeline.make_pipeline` (a scaler's input map handed
to the penalty), with sample weights (a scaled penalty), and with the
certified-training options (``lipschitz_margin`` in both ``margin_kind``
forms, ``max_lipschitz``), plus a few single configurations (float32, sparse
input, multilabel, Poisson, the SGD schedules, ``n_power_iterations=2``).

Each fit is digested by the sha256 of its ``coefs_``, ``intercepts_``,
``loss_curve_``, ``validation_scores_``, ``n_iter_``, ``t_`` and its
certified Lipschitz bounds (:func:`sklip.lipschitz_bound`, every method),
hashed as raw bytes: any change in the last bit shows. The digests go to a
JSON file; ``--compare`` diffs two such files.

Run it on the commit before a change and after, against each tree::

    PYTHONPATH=/tmp/base python benchmarks/check_bit_identity.py --out before.json
    PYTHONPATH=$PWD python benchmarks/check_bit_identity.py --out after.json
    python benchmarks/check_bit_identity.py --compare before.json after.json

Digests depend on the BLAS build and the machine: compare runs of the same
environment only.
"""

import argparse
import hashlib
import itertools
import json
import sys
import warnings

import numpy as np
import scipy.sparse as sp

PENALTIES = ("spectral", "frobenius", "none")
SOLVERS = ("adam", "sgd", "lbfgs")
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
BOUND_METHODS = ("frobenius", "spectral", "combettes-pesquet")
VARIANTS = (
    "plain",
    "warm_start",
    "partial_fit",
    "early_stopping",
    "pipeline",
    "sample_weight",
    "margin",
    "margin_global",
    "max_lipschitz",
)


def _data(kind, seed=0):
    """Tiny data: ``(X, y)`` for a classifier (3 classes) or a regressor."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((45, 4)) * np.array([1.0, 3.0, 0.5, 2.0]) + 1.0
    if kind == "classifier":
        y = (X[:, 0] + X[:, 1] > 2).astype(int) + (X[:, 2] > 1)
    else:
        y = np.stack([X[:, 0] - 0.5 * X[:, 1], np.sin(X[:, 2])], axis=1)
    return X, y


def _estimator(kind, **params):
    """A tiny estimator of ``kind`` with fixed defaults overridden by ``params``."""
    from sklip import LipschitzMLPClassifier, LipschitzMLPRegressor

    cls = LipschitzMLPClassifier if kind == "classifier" else LipschitzMLPRegressor
    base = dict(
        hidden_layer_sizes=(5, 3),
        max_iter=6,
        batch_size=16,
        alpha=0.3,
        learning_rate_init=0.01,
        random_state=0,
    )
    base.update(params)
    return cls(**base)


def _digest(est):
    """sha256 of everything a fit leaves that the grid compares."""
    from sklip import lipschitz_bound

    h = hashlib.sha256()

    def add(value):
        if value is None:
            h.update(b"None")
        else:
            h.update(np.ascontiguousarray(np.asarray(value)).tobytes())
            h.update(str(np.asarray(value).dtype).encode())

    model = est[-1] if hasattr(est, "steps") else est
    for W, b in zip(model.coefs_, model.intercepts_):
        add(W)
        add(b)
    add(np.asarray(model.loss_curve_, dtype=np.float64))
    add(
        None
        if model.validation_scores_ is None
        else np.asarray(model.validation_scores_, dtype=np.float64)
    )
    add(np.array([model.n_iter_, model.t_], dtype=np.float64))
    bounds = [lipschitz_bound(est, method=m) for m in BOUND_METHODS]
    add(np.array(bounds, dtype=np.float64))
    return h.hexdigest()


def _fit(kind, penalty, solver, activation, variant):
    """Fit one grid point; returns the fitted estimator, or None when the
    variant does not apply (partial_fit and early_stopping under lbfgs)."""
    from sklearn.preprocessing import StandardScaler

    from sklip.pipeline import make_pipeline

    X, y = _data(kind)
    params = dict(penalty=penalty, solver=solver, activation=activation)
    fit_kw = {}
    if variant in ("partial_fit", "early_stopping") and solver == "lbfgs":
        return None
    if variant == "early_stopping":
        params.update(early_stopping=True, validation_fraction=0.25)
    elif variant == "margin":
        params.update(lipschitz_margin=0.1)
    elif variant == "margin_global":
        if kind != "classifier":
            return None
        params.update(lipschitz_margin=0.1, margin_kind="global")
    elif variant == "max_lipschitz":
        params.update(max_lipschitz=1.5)
    elif variant == "warm_start":
        params.update(warm_start=True, max_iter=3)
    elif variant == "sample_weight":
        fit_kw["sample_weight"] = np.random.default_rng(1).uniform(0.2, 3.0, len(X))
    est = _estimator(kind, **params)
    if variant == "pipeline":
        est = make_pipeline(StandardScaler(), est)
    if variant == "partial_fit":
        classes = {"classes": np.unique(y)} if kind == "classifier" else {}
        for _ in range(3):
            est.partial_fit(X, y, **classes)
    elif variant == "warm_start":
        est.fit(X, y)
        est.fit(X, y)
    else:
        est.fit(X, y, **fit_kw)
    return est


def _extras():
    """Single configurations outside the grid: ``(name, fitted estimator)``."""
    X, y = _data("classifier")
    Xr, yr = _data("regressor")
    out = []
    out.append(("float32-adam", _estimator("classifier").fit(X.astype(np.float32), y)))
    out.append(
        (
            "float32-lbfgs",
            _estimator("classifier", solver="lbfgs").fit(X.astype(np.float32), y),
        )
    )
    out.append(("sparse-adam", _estimator("classifier").fit(sp.csr_matrix(X), y)))
    out.append(
        (
            "sparse-lbfgs-frobenius",
            _estimator("regressor", solver="lbfgs", penalty="frobenius").fit(
                sp.csr_matrix(Xr), yr
            ),
        )
    )
    Y_multi = np.stack([y == 0, y == 2], axis=1).astype(int)
    out.append(("multilabel", _estimator("classifier").fit(X, Y_multi)))
    out.append(("binary", _estimator("classifier").fit(X, (y > 0).astype(int))))
    out.append(
        (
            "binary-margin",
            _estimator("classifier", lipschitz_margin=0.2).fit(X, (y > 0).astype(int)),
        )
    )
    poisson_y = np.exp(0.3 * Xr[:, 0]).round()
    for solver in SOLVERS:
        out.append(
            (
                f"poisson-{solver}",
                _estimator("regressor", loss="poisson", solver=solver).fit(
                    Xr, poisson_y
                ),
            )
        )
    out.append(
        (
            "poisson-margin",
            _estimator("regressor", loss="poisson", lipschitz_margin=0.05).fit(
                Xr, poisson_y
            ),
        )
    )
    for schedule in ("invscaling", "adaptive"):
        out.append(
            (
                f"sgd-{schedule}",
                _estimator(
                    "classifier",
                    solver="sgd",
                    learning_rate=schedule,
                    max_iter=30,
                    n_iter_no_change=2,
                    tol=1e-2,
                ).fit(X, y),
            )
        )
    out.append(
        (
            "sgd-no-nesterov",
            _estimator("classifier", solver="sgd", nesterovs_momentum=False).fit(X, y),
        )
    )
    out.append(("no-shuffle", _estimator("classifier", shuffle=False).fit(X, y)))
    out.append(
        ("power-iterations-2", _estimator("classifier", n_power_iterations=2).fit(X, y))
    )
    out.append(
        (
            "stall-stop",
            _estimator("regressor", max_iter=50, tol=1.0, n_iter_no_change=2).fit(
                Xr, yr
            ),
        )
    )
    out.append(
        (
            "no-hidden",
            _estimator("classifier", hidden_layer_sizes=()).fit(X, y),
        )
    )
    tiny_sw = np.random.default_rng(2).uniform(0.0, 1e-30, len(X))
    out.append(
        (
            "tiny-weights-lbfgs",
            _estimator("classifier", solver="lbfgs").fit(X, y, tiny_sw),
        )
    )
    est = _estimator("classifier", warm_start=True, max_iter=3)
    est.fit(X, y)
    est.set_params(solver="lbfgs")
    est.fit(X, y)
    out.append(("warm-adam-then-lbfgs", est))
    est = _estimator("classifier", max_iter=3)
    est.fit(X, y)
    est.set_params(penalty="frobenius")
    est.partial_fit(X, y)
    out.append(("partial-fit-after-fit-other-penalty", est))
    return out


def run():
    """Digest every configuration: ``{name: sha256}``."""
    digests = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, penalty, solver, activation, variant in itertools.product(
            ("classifier", "regressor"), PENALTIES, SOLVERS, ACTIVATIONS, VARIANTS
        ):
            est = _fit(kind, penalty, solver, activation, variant)
            if est is not None:
                name = f"{kind}-{penalty}-{solver}-{activation}-{variant}"
                digests[name] = _digest(est)
        for name, est in _extras():
            digests[name] = _digest(est)
    return digests


def compare(before, after):
    """Print the differences of two digest files; return the exit status."""
    with open(before) as f:
        a = json.load(f)
    with open(after) as f:
        b = json.load(f)
    differ = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
    missing = sorted(a.keys() ^ b.keys())
    for name in differ:
        print(f"DIFFERS  {name}")
    for name in missing:
        print(f"MISSING  {name}")
    same = len(a.keys() & b.keys()) - len(differ)
    print(f"{same} of {len(a.keys() | b.keys())} configurations bit-identical")
    return int(bool(differ or missing))


def main(argv=None):
    """Command line: digest the grid, or compare two digest files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="bit_identity.json")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    import sklip

    digests = run()
    with open(args.out, "w") as f:
        json.dump(digests, f, indent=1, sort_keys=True)
    print(f"{len(digests)} digests from {sklip.__file__} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
