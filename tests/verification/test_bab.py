"""Exact MILP and complete verification: brute force on 2-D inputs, the MILP
as the oracle of branch and bound, counterexamples checked in the domain."""

import numpy as np
import pytest

from sklip._core.network import Network
from sklip.verification._bab import verify_complete
from sklip.verification._crown import bound_specs
from sklip.verification._domain import Domain
from sklip.verification._milp import milp_lower_bounds
from sklip.verification._specs import margin_specs


def _net(rng, sizes, activation="relu"):
    return Network(
        [rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])],
        [rng.normal(size=b) for b in sizes[1:]],
        activation,
    )


def _specs(net, Z):
    return margin_specs(net.n_outputs, net.forward(Z).argmax(axis=1))


def _grid(center, eps, norm, n=201, box=None):
    g = np.linspace(-eps, eps, n)
    P = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    if norm == 2:
        P = P[np.linalg.norm(P, axis=1) <= eps]
    P = P + center
    if box is not None:
        P = P[np.all((P >= box[0]) & (P <= box[1]), axis=1)]
    return P


def _grid_min(net, C_i, center, eps, norm, box=None):
    P = _grid(center, eps, norm, box=box)
    return (net.forward(P) @ C_i.T).min(axis=0)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_milp_equals_brute_force_on_2d(depth):
    rng = np.random.default_rng(depth)
    for _ in range(4):
        sizes = [2] + [int(rng.integers(3, 8)) for _ in range(depth)] + [3]
        net = _net(rng, sizes)
        Z = rng.normal(size=(3, 2))
        C = _specs(net, Z)
        eps = 0.4
        dom = Domain(Z, eps, np.inf)
        lower, argmin = milp_lower_bounds(net, dom, C, return_argmin=True)
        for i in range(3):
            brute = _grid_min(net, C[i], Z[i], eps, np.inf)
            # The grid is 2 eps / 200 apart; |grad| of a row is at most a few
            # dozen here, so the grid minimum is within ~0.1 of the true one.
            assert np.all(lower[i] <= brute + 1e-7)
            assert np.all(brute - lower[i] < 0.1)
            attained = np.einsum("ko,ko->k", net.forward(argmin[i]), C[i])
            np.testing.assert_allclose(attained, lower[i], atol=1e-5)
            assert dom.subset(np.full(2, i)).contains(argmin[i]).all()


def test_milp_with_box_and_fixed_coordinate():
    rng = np.random.default_rng(7)
    net = _net(rng, [3, 6, 5, 3])
    Z = rng.uniform(0.2, 0.8, size=(3, 3))
    mask = np.array([True, False, True])
    box = (np.array([0.0, 0.0]), np.array([1.0, 0.85]))
    C = _specs(net, Z)
    dom = Domain(Z, 0.3, np.inf, mask=mask, box=box)
    lower, argmin = milp_lower_bounds(net, dom, C, return_argmin=True)
    for i in range(3):
        g = np.linspace(-0.3, 0.3, 301)
        P = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2) + Z[i, mask]
        P = P[np.all((P >= box[0]) & (P <= box[1]), axis=1)]
        full = np.repeat(Z[i][None], P.shape[0], axis=0)
        full[:, mask] = P
        brute = (net.forward(full) @ C[i].T).min(axis=0)
        assert np.all(lower[i] <= brute + 1e-7)
        assert np.all(brute - lower[i] < 0.1)
        assert np.all(argmin[i][:, 1] == Z[i, 1])
        assert dom.subset(np.full(2, i)).contains(argmin[i]).all()


def test_milp_identity_network_is_the_box_vertex_minimum():
    rng = np.random.default_rng(3)
    net = _net(rng, [2, 4, 3], activation="identity")
    Z = rng.normal(size=(4, 2))
    C = _specs(net, Z)
    dom = Domain(Z, 0.5, np.inf)
    lower = milp_lower_bounds(net, dom, C)
    corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]]) * 0.5
    for i in range(4):
        vals = net.forward(Z[i] + corners) @ C[i].T  # affine: a vertex is optimal
        np.testing.assert_allclose(lower[i], vals.min(axis=0), atol=1e-9)


def test_milp_refuses_l2_and_smooth_activations():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(2, 2))
    net = _net(rng, [2, 4, 3])
    with pytest.raises(ValueError, match="Linf balls only.*norm=2"):
        milp_lower_bounds(net, Domain(Z, 0.1, 2), _specs(net, Z))
    tanh = _net(rng, [2, 4, 3], activation="tanh")
    with pytest.raises(ValueError, match="activation='tanh'"):
        milp_lower_bounds(tanh, Domain(Z, 0.1, np.inf), _specs(tanh, Z))


def test_milp_unfinished_is_nan():
    rng = np.random.default_rng(0)
    net = _net(rng, [2, 8, 3])
    Z = rng.normal(size=(2, 2))
    lower, argmin = milp_lower_bounds(
        net, Domain(Z, 0.5, np.inf), _specs(net, Z), time_limit=0, return_argmin=True
    )
    assert np.isnan(lower).all() and np.isnan(argmin).all()


def _check_verdicts(net, dom, C, verdict, cex, exact):
    """Verdicts agree with the exact minimum; counterexamples are real."""
    n = C.shape[0]
    for i in range(n):
        if abs(exact[i]) < 1e-6:
            continue  # a tie: too close to call for any floating-point method
        expected = "verified" if exact[i] > 0 else "falsified"
        assert verdict[i] == expected, (i, verdict[i], exact[i])
    bad = np.flatnonzero(verdict == "falsified")
    assert dom.subset(bad).contains(cex[bad]).all()
    vals = np.einsum("no,nko->nk", net.forward(cex[bad]), C[bad])
    assert np.all(vals.min(axis=1) <= 0)
    assert np.isnan(cex[verdict != "falsified"]).all()


@pytest.mark.parametrize("engine", ["bab", "milp"])
@pytest.mark.parametrize("depth", [1, 2])
def test_complete_agrees_with_milp(engine, depth):
    rng = np.random.default_rng(10 + depth)
    seen = set()
    for trial in range(8):
        sizes = [2] + [int(rng.integers(4, 9)) for _ in range(depth)] + [3]
        net = _net(rng, sizes)
        Z = rng.normal(size=(6, 2))
        C = _specs(net, Z)
        for eps in (0.1, 0.3, 0.6):
            dom = Domain(Z, eps, np.inf)
            exact = milp_lower_bounds(net, dom, C).min(axis=1)
            verdict, cex, by = verify_complete(
                net, dom, C, time_budget=30.0, random_state=trial, engine=engine
            )
            _check_verdicts(net, dom, C, verdict, cex, exact)
            seen.update(by)
    # The later stages really ran (not only attacks and the root bound).
    assert {"milp" if engine == "milp" else "branch-and-bound"} & seen


def test_complete_with_mask_and_box():
    rng = np.random.default_rng(5)
    for _trial in range(4):
        net = _net(rng, [3, 8, 6, 3])
        Z = rng.uniform(0.1, 0.9, size=(6, 3))
        mask = np.array([True, True, False])
        box = (0.0, 1.0)
        C = _specs(net, Z)
        for eps in (0.15, 0.4):
            dom = Domain(Z, eps, np.inf, mask=mask, box=box)
            exact = milp_lower_bounds(net, dom, C).min(axis=1)
            verdict, cex, _ = verify_complete(
                net, dom, C, time_budget=30.0, random_state=0, engine="bab"
            )
            _check_verdicts(net, dom, C, verdict, cex, exact)


@pytest.mark.parametrize("depth", [1, 2])
def test_complete_l2_against_dense_sampling(depth):
    """L2 has no MILP: the oracle is a dense grid of the disk. Verified
    samples are never broken by a grid point, a clear violation (grid min
    below -0.05) is found, and counterexamples are real."""
    rng = np.random.default_rng(20 + depth)
    decided = 0
    for trial in range(4):
        sizes = [2] + [int(rng.integers(4, 9)) for _ in range(depth)] + [3]
        net = _net(rng, sizes)
        Z = rng.normal(size=(5, 2))
        C = _specs(net, Z)
        for eps in (0.2, 0.5):
            dom = Domain(Z, eps, 2)
            verdict, cex, _ = verify_complete(
                net, dom, C, time_budget=30.0, random_state=trial
            )
            for i in range(Z.shape[0]):
                grid = _grid_min(net, C[i], Z[i], eps, 2).min()
                if verdict[i] == "verified":
                    assert grid > 0
                if grid < -0.05:
                    assert verdict[i] == "falsified"
                if grid > 0.05:  # the grid is dense: the true min is > 0 too
                    assert verdict[i] == "verified"
                decided += verdict[i] != "undecided"
            bad = np.flatnonzero(verdict == "falsified")
            assert dom.subset(bad).contains(cex[bad]).all()
            vals = np.einsum("no,nko->nk", net.forward(cex[bad]), C[bad])
            assert np.all(vals.min(axis=1) <= 0)
    assert decided >= 0.9 * 4 * 2 * 5


def _hard_case():
    """A net and Linf ball whose sample is robust (MILP) while alpha-CROWN
    cannot prove it: only branching decides it."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        net = _net(rng, [4, 16, 16, 3])
        Z = rng.normal(size=(1, 4))
        C = _specs(net, Z)
        for eps in (0.1, 0.2, 0.3):
            dom = Domain(Z, eps, np.inf)
            exact = milp_lower_bounds(net, dom, C).min()
            root = bound_specs(net, dom, C, method="alpha-crown").min()
            if exact > 0.05 and root < 0:
                return net, dom, C
    raise AssertionError("no robust-but-unproven case among 200 random nets")


def test_tiny_budget_returns_undecided():
    net, dom, C = _hard_case()
    verdict, cex, by = verify_complete(net, dom, C, time_budget=1e-9, random_state=0)
    assert verdict[0] == "undecided" and by[0] == ""
    assert np.isnan(cex).all()
    verdict, _, by = verify_complete(net, dom, C, time_budget=30.0, random_state=0)
    assert verdict[0] == "verified" and by[0] == "branch-and-bound"


def test_falsifier_points_are_projected_and_checked():
    rng = np.random.default_rng(1)
    net = _net(rng, [2, 6, 3])
    Z = rng.normal(size=(4, 2))
    C = _specs(net, Z)
    dom = Domain(Z, 0.5, np.inf)
    lower, argmin = milp_lower_bounds(net, dom, C, return_argmin=True)
    worst = lower.argmin(axis=1)
    target = argmin[np.arange(4), worst]
    calls = []

    def falsifier(rows):
        calls.append(rows.copy())
        # Overshoot outside the ball: the verifier projects back.
        return Z[rows] + 3 * (target[rows] - Z[rows])

    verdict, cex, by = verify_complete(net, dom, C, falsifier=falsifier, random_state=0)
    assert calls and np.all(np.isin(calls[0], np.arange(4)))
    exact = lower.min(axis=1)
    _check_verdicts(net, dom, C, verdict, cex, exact)
    with pytest.raises(ValueError, match="falsifier must return"):
        verify_complete(net, dom, C, falsifier=lambda rows: np.zeros((1, 2)))


def test_smooth_activations_get_no_branching():
    rng = np.random.default_rng(2)
    for activation in ("tanh", "logistic"):
        net = _net(rng, [2, 8, 3], activation=activation)
        Z = rng.normal(size=(8, 2))
        C = _specs(net, Z)
        dom = Domain(Z, 0.4, 2)
        verdict, cex, by = verify_complete(net, dom, C, random_state=0)
        assert set(by) <= {"clean", "pgd", "bound-point", "alpha-crown", ""}
        root = bound_specs(net, dom, C, method="alpha-crown").min(axis=1)
        proven = by == "alpha-crown"
        assert np.all(root[proven] > 0)
        with pytest.raises(ValueError, match="engine='milp' needs"):
            verify_complete(net, Domain(Z, 0.4, np.inf), C, engine="milp")


@pytest.mark.parametrize("sizes", [[2, 4, 3], [2, 3]])
def test_affine_networks_are_decided_by_the_root_bound(sizes):
    rng = np.random.default_rng(4)
    net = _net(rng, sizes, activation="identity")
    Z = rng.normal(size=(10, 2))
    C = _specs(net, Z)
    for eps in (0.2, 1.0):
        dom = Domain(Z, eps, np.inf)
        exact = milp_lower_bounds(net, dom, C).min(axis=1)
        verdict, cex, _ = verify_complete(net, dom, C, random_state=0)
        _check_verdicts(net, dom, C, verdict, cex, exact)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    net = _net(rng, [2, 4, 3])
    Z = rng.normal(size=(2, 2))
    dom = Domain(Z, 0.1, np.inf)
    C = _specs(net, Z)
    with pytest.raises(ValueError, match="time_budget must be a positive"):
        verify_complete(net, dom, C, time_budget=0)
    with pytest.raises(ValueError, match="C must have shape"):
        verify_complete(net, dom, C[:1])
    with pytest.raises(ValueError, match="engine must be"):
        verify_complete(net, dom, C, engine="lp")
