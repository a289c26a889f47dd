"""Strength and speed of every sklip attack against exact values and peers.

Models, trained on load_digits with pixels scaled to [0, 1] (``X / 16``; the
last 500 images are the test set): sklip ``LipschitzMLPClassifier`` with
``penalty="none"`` and ``"spectral"`` and one or two hidden layers of 64
units, a scikit-learn ``MLPClassifier``, a multinomial ``LogisticRegression``
and a binary ``LogisticRegression`` (breast_cancer, standardised inside a
Pipeline). Each is attacked at 3 radii per norm (L2 and Linf) by every sklip
attack; the table lists robust samples (lower = stronger attack), the
certified count (a lower bound) and, for linear models, the exact count.

Where ``torch`` and the Adversarial Robustness Toolbox are importable (never
dependencies of sklip), each network is copied into PyTorch and attacked in
the same run by ART's PGD (20 steps), APGD-CE and APGD-DLR (100 steps, 5
restarts, as ART's defaults) and ART's AutoAttack (APGD-CE, APGD-DLR and
DeepFool; ART's SquareAttack accepts images only; by default at the middle
radius only, as it is slow).
All computations use one thread (BLAS and torch) so that times compare.

``--pgd`` runs only the plain-PGD parity check of issue 22 instead: all of
digits, standardised (eps in std units), a ``LogisticRegression`` and an
``MLPClassifier``, sklip ``attack="pgd"`` against a textbook PGD written here
(clean start, fixed step, sign / normalised cross-entropy gradient,
projection, last iterate) and ART's ``ProjectedGradientDescent`` with the
same steps and no random init (the logistic regression through ART's
scikit-learn wrapper; the MLP needs torch), at 10, 20 and 100 iterations.

    python benchmarks/bench_robustness.py [--quick] [--autoattack middle]
        [--repeats 1]
        [--only REGEX] [--pgd]

``--quick`` (what the test suite runs, to keep the script working): one
small sklip MLP briefly trained on 500 images and the two linear models,
100 test samples, the middle radius only and a 2 x 2 grid search; its
counts and times are not the benchmark's.
"""

import argparse
import re
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from sklip import LipschitzMLPClassifier
from sklip.lipschitz import as_network
from sklip.robustness import certified_accuracy, perturb

SKLIP_ATTACKS = ("auto", "apgd-ce", "apgd-dlr", "apgd-t", "square", "pgd", "fgsm")
PEER_ATTACKS = ("PGD-20", "APGD-CE", "APGD-DLR", "AutoAttack")


def median_time(func, repeats):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def digits_data(n_test=500):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]


def cancer_data():
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    X, y = X[perm], y[perm]
    return X[:369], y[:369], X[369:], y[369:]


def models(quick):
    Xtr, ytr, Xte, yte = digits_data()
    if quick:
        Xtr, ytr, Xte, yte = Xtr[:500], ytr[:500], Xte[:100], yte[:100]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        configs = [((64,), "none", 1e-4), ((64,), "spectral", 1.0)]
        if quick:
            configs = [((16,), "spectral", 1.0)]
        else:
            configs += [((64, 64), "none", 1e-4), ((64, 64), "spectral", 1.0)]
        for hidden, penalty, alpha in configs:
            model = LipschitzMLPClassifier(
                hidden,
                penalty=penalty,
                alpha=alpha,
                max_iter=30 if quick else 200,
                random_state=0,
            ).fit(Xtr, ytr)
            out.append((f"sklip {hidden} {penalty}", model, Xte, yte))
        if not quick:
            mlp = MLPClassifier((64,), max_iter=200, random_state=0).fit(Xtr, ytr)
            out.append(("sklearn MLP (64,)", mlp, Xte, yte))
        lr = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
        out.append(("LogisticRegression digits", lr, Xte, yte))
        Ctr, ctr, Cte, cte = cancer_data()
        pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(Ctr, ctr)
        out.append(("LogisticRegression cancer", pipe, Cte, cte))
    return out


def radii(model, X, y, norm):
    """Three radii per model and norm: quartiles of the exact (linear) or
    certified L2 radius would be too small for MLPs, so use fractions of the
    median distance at which a first attack breaks half of the samples."""
    net = as_network(model)
    if net.n_layers == 1:
        d = exact_distance(net, X, y, norm)
        q = np.quantile(d[np.isfinite(d) & (d > 0)], [0.25, 0.5, 0.75])
        return [float(v) for v in q]
    scale = 0.5 if norm == 2 else 0.5 / np.sqrt(X.shape[1])
    if "spectral" in str(getattr(model, "penalty", "")):
        scale *= 1.4
    return [scale * f for f in (0.75, 1.0, 1.25)]


def exact_distance(net, X, y, norm):
    """Exact distance to the closest other class of a linear model (0 when
    misclassified): ``min_j (f_y - f_j) / ||w_y - w_j||_*``."""
    W, b = net.coefs[0], net.intercepts[0]
    F = X @ W + b
    dual = 1 if norm == np.inf else 2
    if W.shape[1] == 1:
        t = np.where(y == 1, 1.0, -1.0)
        return np.maximum(t * F[:, 0], 0) / np.linalg.norm(W[:, 0], dual)
    idx = np.searchsorted(np.unique(y), y)
    rows = np.arange(len(y))
    D = np.full(F.shape, np.inf)
    with np.errstate(invalid="ignore"):  # j == y: 0 / 0, overwritten below
        for j in range(W.shape[1]):
            C = W[:, [j]] - W[:, idx]
            D[:, j] = (F[rows, idx] - F[:, j]) / np.linalg.norm(C, dual, axis=0)
    D[rows, idx] = np.inf
    return np.maximum(D.min(axis=1), 0)


# --------------------------------------------------------------------------
# Peers: ART on a PyTorch copy of the network.


def import_peers():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch
            from art.attacks.evasion import (
                AutoAttack,
                AutoProjectedGradientDescent,
                DeepFool,
                ProjectedGradientDescent,
            )
            from art.estimators.classification import PyTorchClassifier
    except ImportError as exc:
        return None, str(exc)
    torch.set_num_threads(1)
    return (
        torch,
        PyTorchClassifier,
        ProjectedGradientDescent,
        AutoProjectedGradientDescent,
        AutoAttack,
        DeepFool,
    ), None


def torch_copy(torch, net):
    """The network view as a torch.nn.Sequential; a single binary logit z
    becomes the two logits (0, z), which induce the same classifier."""
    layers = []
    for i, (W, b) in enumerate(zip(net.coefs, net.intercepts)):
        W = np.asarray(W, dtype=np.float32)
        b = np.asarray(b, dtype=np.float32)
        if W.shape[1] == 1:
            W = np.concatenate([np.zeros_like(W), W], axis=1)
            b = np.concatenate([np.zeros(1, np.float32), b])
        lin = torch.nn.Linear(*W.shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < net.n_layers - 1:
            act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[net.activation]
            layers.append(act())
    return torch.nn.Sequential(*layers).eval()


def peer_attacks(peers, net, X, y_idx, eps, norm, autoattack, apgd_iter=100):
    torch, Classifier, PGD, APGD, AutoAttack, DeepFool = peers
    model = torch_copy(torch, net)
    n_classes = max(2, net.n_outputs)
    clf = Classifier(
        model,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(X.shape[1],),
        nb_classes=n_classes,
        device_type="cpu",
    )
    Xf = X.astype(np.float32)
    Y = np.eye(n_classes, dtype=np.float32)[y_idx]
    attacks = {
        "PGD-20": PGD(
            clf, norm=norm, eps=eps, eps_step=2.5 * eps / 20, max_iter=20,
            num_random_init=1, batch_size=len(X), verbose=False,
        ),
        "APGD-CE": APGD(
            clf, norm=norm, eps=eps, eps_step=2 * eps, max_iter=apgd_iter,
            loss_type="cross_entropy", verbose=False,
        ),
    }  # fmt: skip
    if n_classes >= 3:
        attacks["APGD-DLR"] = APGD(
            clf, norm=norm, eps=eps, eps_step=2 * eps, max_iter=apgd_iter,
            loss_type="difference_logits_ratio", verbose=False,
        )  # fmt: skip
    if autoattack:
        # ART's default ensemble minus its SquareAttack, which ART restricts
        # to image-shaped inputs.
        stages = [
            APGD(
                clf, norm=norm, eps=eps, eps_step=2 * eps, max_iter=apgd_iter,
                loss_type=loss, verbose=False,
            )
            for loss in ("cross_entropy", "difference_logits_ratio")
            if loss == "cross_entropy" or n_classes >= 3
        ]  # fmt: skip
        stages.append(DeepFool(clf, max_iter=100, epsilon=1e-3, verbose=False))
        attacks["AutoAttack"] = AutoAttack(
            clf, norm=norm, eps=eps, eps_step=2 * eps, attacks=stages
        )
    out = {}
    for name, attack in attacks.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                t, X_adv = median_time(lambda a=attack: a.generate(Xf, Y), 1)
            except ImportError as exc:
                # ART imports some of its dependencies only when attacking
                # (AutoAttack needs ``multiprocess``).
                print(f"(peer {name} skipped: {exc})")
                continue
        X_adv = X_adv.astype(np.float64)
        D = X_adv - X
        size = np.abs(D).max(axis=1) if norm == np.inf else np.linalg.norm(D, axis=1)
        # float32 rounding may leave the ball by a few ulps of |X|: accept
        # it, but count in float64 on the sklip model (same predictions).
        slack = 8 * float(np.spacing(np.float32(np.abs(X).max())))
        assert np.all(size <= eps * (1 + 1e-5) + slack), name
        out[name] = (X_adv, t)
    return out


# --------------------------------------------------------------------------


def grid_search_cost(quick=False):
    """Fit time against robustness-scoring time in a grid search over a
    sklip MLP on digits (default attack, L2 eps 0.5, 3 folds)."""
    from sklearn.model_selection import GridSearchCV

    from sklip.robustness import make_robustness_scorer

    Xtr, ytr, _, _ = digits_data()
    grid = {"penalty": ["none", "spectral"], "alpha": [1e-3, 1.0]}
    model, cv = LipschitzMLPClassifier((64,), random_state=0), 3
    if quick:
        Xtr, ytr, cv = Xtr[:300], ytr[:300], 2
        grid["alpha"] = [1.0]
        model.set_params(hidden_layer_sizes=(16,), max_iter=10)
    search = GridSearchCV(
        model,
        grid,
        scoring={"robust": make_robustness_scorer(eps=0.5)},
        refit=False,
        cv=cv,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(Xtr, ytr)
    fit = np.mean(search.cv_results_["mean_fit_time"])
    score = np.mean(search.cv_results_["mean_score_time"])
    n_candidates = len(grid["penalty"]) * len(grid["alpha"])
    print(
        f"\nGrid search ({n_candidates} candidates x {cv} folds, "
        f"{len(Xtr) * (cv - 1) // cv} training "
        f"samples): mean fit {fit:.3f} s, mean robust scoring {score:.3f} s "
        f"(scoring / fit = {score / fit:.2f})"
    )


# --------------------------------------------------------------------------
# Plain PGD parity (--pgd).


def textbook_pgd(net, X, y_idx, eps, norm, n_iter, step):
    """PGD as common toolboxes run it without random init, on the network
    view's weights: clean start, ``step`` along the sign (Linf) or the
    normalised (L2) cross-entropy gradient, projection; the last iterate."""
    act = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}
    dact = {"relu": lambda z: z > 0, "tanh": lambda z: 1.0 - np.tanh(z) ** 2}
    x = X.copy()
    for _ in range(n_iter):
        h, pre = x, []
        for i, (W, b) in enumerate(zip(net.coefs, net.intercepts)):
            pre.append(h @ W + b)
            h = act[net.activation](pre[-1]) if i < net.n_layers - 1 else pre[-1]
        G = np.exp(h - h.max(axis=1, keepdims=True))
        G /= G.sum(axis=1, keepdims=True)
        G[np.arange(len(y_idx)), y_idx] -= 1.0  # d CE / d logits
        for i in reversed(range(net.n_layers)):
            if i < net.n_layers - 1:
                G = G * dact[net.activation](pre[i])
            G = G @ net.coefs[i].T
        if norm == np.inf:
            x = X + np.clip(x + step * np.sign(G) - X, -eps, eps)
        else:
            x = x + step * G / np.maximum(np.linalg.norm(G, axis=1)[:, None], 1e-300)
            r = np.linalg.norm(x - X, axis=1)[:, None]
            x = X + (x - X) * np.minimum(1.0, eps / np.maximum(r, 1e-300))
    return x


def art_pgd(model, net, X, y_idx, eps, norm, n_iter, step):
    """ART's ProjectedGradientDescent without random init, or the reason it
    cannot run (ART absent; torch absent for an MLP)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from art.attacks.evasion import ProjectedGradientDescent
            from art.estimators.classification import SklearnClassifier
    except ImportError as exc:
        return None, f"ART not importable ({exc})"
    if isinstance(model, LogisticRegression):
        clf = SklearnClassifier(model)
    else:
        peers, why = import_peers()
        if peers is None:
            return None, f"torch not importable ({why})"
        torch, Classifier = peers[:2]
        clf = Classifier(
            torch_copy(torch, net), loss=torch.nn.CrossEntropyLoss(),
            input_shape=(X.shape[1],), nb_classes=net.n_outputs, device_type="cpu",
        )  # fmt: skip
    attack = ProjectedGradientDescent(
        clf, norm=norm, eps=eps, eps_step=step, max_iter=n_iter,
        num_random_init=0, batch_size=len(X), verbose=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Y = np.eye(net.n_outputs, dtype=np.float32)[y_idx]
        return attack.generate(X.astype(np.float32), Y).astype(np.float64), None


def pgd_parity():
    """Samples still correct (of 1797) after sklip's PGD, textbook PGD and
    ART's PGD at the same iterations and step (eps / 8)."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = {
            "LogisticRegression": LogisticRegression(max_iter=2000).fit(X, y),
            "MLPClassifier (64,)": MLPClassifier(
                (64,), max_iter=300, random_state=0
            ).fit(X, y),
        }
    header = "| model | norm | eps (std units) | n_iter | sklip pgd, step eps/8 "
    header += "| sklip pgd, default step | textbook | ART PGD | sklip auto |"
    print("\nSamples still correct of 1797 (lower = stronger), step eps/8:\n")
    print(header)
    print("|" + "---|" * 9)
    notes = set()
    for name, model in fitted.items():
        net = as_network(model)
        for norm, eps in ((2, 1.0), (np.inf, 0.1)):
            auto = robust_count(model, X, y, perturb(model, X, y, eps=eps, norm=norm))
            for n_iter in (10, 20, 100):
                kw = dict(eps=eps, norm=norm, attack="pgd", n_iter=n_iter)
                fixed = perturb(model, X, y, step_size=eps / 8, **kw)
                default = perturb(model, X, y, **kw)
                ref = textbook_pgd(net, X, y, eps, norm, n_iter, eps / 8)
                art, why = art_pgd(model, net, X, y, eps, norm, n_iter, eps / 8)
                if why:
                    notes.add(f"{name}: ART skipped, {why}")
                cells = [robust_count(model, X, y, P) for P in (fixed, default, ref)]
                cells.append("-" if art is None else robust_count(model, X, y, art))
                norm_name = "L2" if norm == 2 else "Linf"
                print(
                    f"| {name} | {norm_name} | {eps} | {n_iter} | "
                    + " | ".join(map(str, cells + [auto]))
                    + " |",
                    flush=True,
                )
    for note in sorted(notes):
        print(note)


def robust_count(model, X, y, X_adv):
    return int(np.sum((model.predict(X) == y) & (model.predict(X_adv) == y)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny models and data, 1 radius"
    )
    parser.add_argument(
        "--autoattack",
        choices=["none", "middle", "all"],
        default=None,
        help="radii at which ART's (slow) AutoAttack runs (default: middle; "
        "none with --quick)",
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", default="", help="regex on model names")
    parser.add_argument("--pgd", action="store_true", help="only PGD parity")
    args = parser.parse_args()
    if args.autoattack is None:
        args.autoattack = "none" if args.quick else "middle"
    if args.pgd:
        with threadpool_limits(1):
            pgd_parity()
        return
    peers, why = import_peers()
    blas = [(i["internal_api"], i.get("architecture")) for i in threadpool_info()]
    print(f"BLAS: {blas}; 1 thread everywhere; times are medians of {args.repeats}")
    if peers is None:
        print(f"torch / adversarial-robustness-toolbox not importable ({why}):")
        print("no peer comparison.")
    header = ["model", "norm", "eps", "clean", "cert", "exact"]
    header += list(SKLIP_ATTACKS) + (list(PEER_ATTACKS) if peers else [])
    rows, times, n_test = [], {}, {}
    with threadpool_limits(1):
        for name, model, X, y in models(args.quick):
            if not re.search(args.only, name):
                continue
            net = as_network(model)
            y_idx = np.searchsorted(model.classes_, y)
            n_test[name] = len(y)
            for norm in (2, np.inf):
                for k, eps in enumerate(radii(model, X, y, norm)):
                    if args.quick and k != 1:
                        continue  # the middle radius only
                    autoattack = args.autoattack == "all" or (
                        args.autoattack == "middle" and k == 1
                    )
                    row = {
                        "model": name,
                        "norm": "L2" if norm == 2 else "Linf",
                        "eps": f"{eps:.4g}",
                        "clean": int(np.sum(model.predict(X) == y)),
                        "cert": int(
                            round(
                                certified_accuracy(model, X, y, eps=eps, norm=norm)
                                * len(y)
                            )
                        ),  # fmt: skip
                        "exact": "-",
                    }
                    if net.n_layers == 1:
                        d = exact_distance(net, X, y_idx, norm)
                        row["exact"] = int(np.sum(d > eps))
                    for attack in SKLIP_ATTACKS:
                        t, X_adv = median_time(
                            lambda a=attack, m=model, X=X, y=y, e=eps, p=norm: (
                                perturb(m, X, y, eps=e, norm=p, attack=a,
                                        random_state=0)
                            ),
                            args.repeats,
                        )  # fmt: skip
                        row[attack] = robust_count(model, X, y, X_adv)
                        times.setdefault(attack, []).append(t)
                        times.setdefault((name, attack), []).append(t)
                    if peers:
                        for peer, (X_adv, t) in peer_attacks(
                            peers,
                            net,
                            X,
                            y_idx,
                            eps,
                            norm,
                            autoattack,
                            apgd_iter=10 if args.quick else 100,
                        ).items():
                            row[peer] = robust_count(model, X, y, X_adv)
                            times.setdefault(peer, []).append(t)
                            times.setdefault((name, peer), []).append(t)
                    rows.append(row)
                    print(" | ".join(str(row.get(h, "-")) for h in header), flush=True)

    sizes = ", ".join(f"{name}: {n}" for name, n in n_test.items())
    print(f"\nRobust samples (lower = stronger attack) out of {sizes}:\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(row.get(h, "-")) for h in header) + " |")
    print("\nMedian time per call (ms):\n")
    names = [a for a in list(SKLIP_ATTACKS) + list(PEER_ATTACKS) if a in times]
    print("| attack | " + " | ".join(names) + " |")
    print("|" + "---|" * (len(names) + 1))
    print(
        "| all cases | "
        + " | ".join(f"{np.median(times[a]) * 1e3:.1f}" for a in names)
        + " |"
    )
    if "APGD-CE" in times:
        ratio = np.median(times["APGD-CE"]) / np.median(times["auto"])
        print(f"\nTime peer APGD-CE / sklip auto (median over cases): {ratio:.1f}x")
    worse = [
        r for r in rows
        if peers and "APGD-CE" in r
        and r["auto"] > min(r[p] for p in ("PGD-20", "APGD-CE", "APGD-DLR") if p in r)
    ]  # fmt: skip
    print(f"Cases where sklip auto is above the best of peer PGD/APGD: {len(worse)}")
    for r in worse:
        print("   ", r)
    with threadpool_limits(1):
        grid_search_cost(args.quick)


if __name__ == "__main__":
    main()
