"""Soundness and tightness of the verification engine (IBP, CROWN, alpha-CROWN).

Oracles: the network evaluated at sampled points of the domain (uniform,
vertices, projected-gradient minimisers), closed forms on linear networks, a
dense grid on 2-D inputs, finite differences of the bound in the slopes.
"""

import numpy as np
import pytest

from sklip._core.network import Network
from sklip.verification._alpha import bound_and_gradient
from sklip.verification._backward import backward_bound
from sklip.verification._crown import bound_specs, crown_pre_bounds
from sklip.verification._domain import Domain
from sklip.verification._relax import relu_lines, s_shaped_lines
from sklip.verification._specs import margin_specs, output_specs

METHODS = ("interval", "crown", "alpha-crown")
ACTIVATIONS = ("relu", "tanh", "logistic", "identity")


def random_net(rng, d, n_out, activation, depth=None, scale=1.0):
    """A random network with 1-3 hidden layers (or ``depth``) of width 2-16."""
    depth = rng.integers(1, 4) if depth is None else depth
    widths = [d, *rng.integers(2, 17, size=depth), n_out]
    coefs = [
        rng.normal(size=(a, b)) * scale / np.sqrt(a) for a, b in zip(widths, widths[1:])
    ]
    intercepts = [rng.normal(size=b) * 0.5 for b in widths[1:]]
    return Network(coefs, intercepts, activation)


def spec_values(net, C, X):
    """``C_i f(x)`` for points X (n, p, d): (n, p, k)."""
    n, p, d = X.shape
    F = net.forward(X.reshape(n * p, d)).reshape(n, p, -1)
    return np.einsum("nko,npo->npk", C, F)


def random_domain(rng, n, d, norm, masked, boxed):
    """Random centers and radii, half the coordinates movable when
    ``masked``, a box around the centers when ``boxed``."""
    Z = rng.uniform(-1, 1, size=(n, d))
    eps = rng.uniform(0.05, 0.8, size=n)
    mask = None
    m = d
    if masked:
        mask = np.zeros(d, bool)
        mask[rng.choice(d, size=max(1, d // 2), replace=False)] = True
        m = mask.sum()
    box = None
    if boxed:
        Zm = Z if mask is None else Z[:, mask]
        box = (Zm.min(axis=0) - rng.uniform(0, 0.3, m), Zm.max(axis=0) + 0.2)
    return Domain(Z, eps, norm, mask=mask, box=box)


def domain_points(rng, dom, n_points):
    """Points of each sample's domain: (n, n_points, d)."""
    n, d = dom.Z.shape
    m = d if dom.movable is None else dom.movable.size
    if dom.norm == np.inf:
        U = rng.uniform(-1, 1, size=(n, n_points, m))
        # Half of them vertices of the cube.
        U[:, : n_points // 2] = np.sign(U[:, : n_points // 2])
    else:
        U = rng.normal(size=(n, n_points, m))
        U /= np.linalg.norm(U, axis=2, keepdims=True)
        U *= rng.uniform(0, 1, size=(n, n_points, 1)) ** (1.0 / m)
        U[:, : n_points // 4] /= np.linalg.norm(
            U[:, : n_points // 4], axis=2, keepdims=True
        )
    X = np.repeat(dom.Z[:, None, :], n_points, axis=1)
    cols = slice(None) if dom.movable is None else dom.movable
    X[:, :, cols] += dom.eps[:, None, None] * U
    if dom.box is not None:
        X[:, :, cols] = np.clip(X[:, :, cols], dom.box[0], dom.box[1])
    return X


def pgd_points(net, dom, C, n_steps=15):
    """Projected gradient descent on every spec row from the center:
    (n, k, d) points of the domain."""
    n, k, _ = C.shape
    d = dom.n_features
    rep = dom.subset(np.repeat(np.arange(n), k))
    X = rep.Z.copy()
    X += 1e-3 * np.random.default_rng(0).normal(size=X.shape)
    X = rep.project(X)
    cot = C.reshape(n * k, -1)
    step = 2.5 * rep.eps[:, None] / n_steps
    for _ in range(n_steps):
        g = net.input_gradient(X, cot)
        if dom.movable is not None:
            g[:, ~dom.mask] = 0
        if dom.norm == np.inf:
            g = np.sign(g)
        else:
            g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        X = rep.project(X - step * g)
    return X.reshape(n, k, d)


def check_sound(net, dom, C, lowers, rng, n_points=400):
    """Every lower bound <= the spec at sampled and PGD points of the domain;
    returns the smallest spec value seen per (sample, row)."""
    X = domain_points(rng, dom, n_points)
    assert np.all(
        dom.subset(np.repeat(np.arange(dom.n_samples), n_points)).contains(
            X.reshape(-1, dom.n_features)
        )
    )
    vals = spec_values(net, C, X).min(axis=1)
    P = pgd_points(net, dom, C)
    assert np.all(
        dom.subset(np.repeat(np.arange(dom.n_samples), C.shape[1])).contains(
            P.reshape(-1, dom.n_features)
        )
    )
    pv = spec_values(net, C, P)  # (n, k, k): row r's own point is [:, r, r]
    vals = np.minimum(vals, pv.min(axis=1))
    for method, lower in lowers.items():
        tol = 1e-9 * (1 + np.abs(vals))
        assert np.all(lower <= vals + tol), (method, (lower - vals).max())
    return vals


# --- relaxations -------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "logistic"])
def test_s_shaped_lines_sound_densely(activation):
    from scipy.special import expit

    f = np.tanh if activation == "tanh" else expit
    rng = np.random.default_rng(1)
    a = np.concatenate(
        [rng.normal(0, 3, 3000), rng.normal(0, 0.3, 1000), [-40.0, -1e-9, 0.0, 2.0]]
    )
    b = np.concatenate(
        [rng.normal(0, 3, 3000), rng.normal(0, 0.3, 1000), [40.0, 1e-9, 1e-14, 2.0]]
    )
    l, u = np.minimum(a, b), np.maximum(a, b)
    aL, bL, aU, bU = s_shaped_lines(l[None], u[None], activation)
    t = np.linspace(0, 1, 401)
    z = l[:, None] + t[None, :] * (u - l)[:, None]
    fz = f(z)
    low = aL[0][:, None] * z + bL[0][:, None]
    up = aU[0][:, None] * z + bU[0][:, None]
    assert np.all(low <= fz + 1e-12)
    assert np.all(up >= fz - 1e-12)
    # Not vacuous: the lines touch phi somewhere on wide intervals' ends.
    wide = (u - l) > 1.0
    gap = np.minimum(np.abs(fz - low).min(axis=1), np.abs(up - fz).min(axis=1))
    assert np.median(gap[wide]) < 1e-6


def test_relu_lines():
    l = np.array([[-2.0, -1.0, 0.5, -3.0]])
    u = np.array([[1.0, 3.0, 2.0, -1.0]])
    aL, bL, aU, bU, unstable = relu_lines(l, u)
    np.testing.assert_array_equal(unstable, [[True, True, False, False]])
    np.testing.assert_allclose(aU[0], [1 / 3, 0.75, 1.0, 0.0])
    np.testing.assert_allclose(bU[0], [2 / 3, 0.75, 0.0, 0.0])
    np.testing.assert_array_equal(aL[0], [0.0, 1.0, 1.0, 0.0])
    z = np.linspace(l, u, 101)[:, 0, :]
    r = np.maximum(z, 0)
    assert np.all(aL[0] * z + bL[0] <= r + 1e-15)
    assert np.all(aU[0] * z + bU[0] >= r - 1e-15)


# --- the domain ---------------------------------------------------------------


@pytest.mark.parametrize("norm", [2, np.inf])
@pytest.mark.parametrize("boxed", [False, True])
def test_concretize_attained_and_sound(norm, boxed):
    rng = np.random.default_rng(2)
    dom = random_domain(rng, 6, 5, norm, masked=True, boxed=boxed)
    A = rng.normal(size=(6, 4, 5))
    const = rng.normal(size=(6, 4))
    lower, X = dom.concretize(A, const, return_argmin=True)
    shared = dom.concretize(A[0], const[0])
    np.testing.assert_allclose(shared[0], lower[0])
    value = np.einsum("nkd,nkd->nk", A, X) + const
    ball = Domain(dom.Z, dom.eps, norm, mask=dom.mask)
    if norm == np.inf or not boxed:
        # The minimiser lies in the domain and attains the bound: exact.
        np.testing.assert_allclose(value, lower, atol=1e-12)
        rows = np.repeat(np.arange(6), 4)
        assert np.all(dom.subset(rows).contains(X.reshape(-1, 5)))
    else:
        assert np.all(lower >= ball.concretize(A, const) - 1e-12)
    P = domain_points(rng, dom, 2000)
    vals = np.einsum("nkd,npd->npk", A, P).min(axis=1) + const
    assert np.all(lower <= vals + 1e-12)


def test_domain_validation():
    Z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="norm"):
        Domain(Z, 0.1, 1)
    with pytest.raises(ValueError, match="eps"):
        Domain(Z, -0.1, 2)
    with pytest.raises(ValueError, match="eps"):
        Domain(Z, [0.1, 0.2], 2)
    with pytest.raises(ValueError, match="mask"):
        Domain(Z, 0.1, 2, mask=[1, 0])
    with pytest.raises(ValueError, match="box"):
        Domain(Z, 0.1, 2, box=(0.5, 1.0))
    dom = Domain(Z, 0.1, 2).with_eps(np.array([0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(dom.subset([2, 0]).eps, [2.0, 0.0])


# --- specifications -------------------------------------------------------------


def test_specs():
    C = margin_specs(3, np.array([0, 2]))
    np.testing.assert_array_equal(C[0], [[1, -1, 0], [1, 0, -1]])
    np.testing.assert_array_equal(C[1], [[-1, 0, 1], [0, -1, 1]])
    np.testing.assert_array_equal(margin_specs(1, np.array([0, 1]))[:, 0, 0], [-1, 1])
    O = output_specs(2, 2)
    np.testing.assert_array_equal(O[1], [[1, 0], [0, 1], [-1, 0], [0, -1]])
    with pytest.raises(ValueError, match="classes"):
        margin_specs(3, np.array([3]))
    with pytest.raises(ValueError, match="classes"):
        margin_specs(1, np.array([2]))


# --- soundness ----------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("norm", [2, np.inf])
@pytest.mark.parametrize("masked,boxed", [(False, False), (True, False), (True, True)])
def test_sound_on_random_nets(activation, norm, masked, boxed):
    rng = np.random.default_rng(abs(hash((activation, norm, masked, boxed))) % 2**32)
    for _trial in range(6):
        d = int(rng.integers(2, 6))
        n_out = int(rng.choice([1, 2, 4]))
        net = random_net(rng, d, n_out, activation, scale=1.5)
        dom = random_domain(rng, 5, d, norm, masked, boxed)
        classes = rng.integers(0, 2 if n_out <= 2 else n_out, size=5)
        C = margin_specs(n_out, classes)
        lowers = {m: bound_specs(net, dom, C, method=m, n_iter=10) for m in METHODS}
        _, state = bound_specs(net, dom, C, method="alpha-crown", return_state=True)
        rows = np.repeat(np.arange(5), C.shape[1])
        flat = state.points.reshape(-1, d)
        assert np.all(dom.subset(rows).contains(flat))
        tol = 1e-9
        assert np.all(lowers["interval"] <= lowers["crown"] + tol)
        assert np.all(lowers["crown"] <= lowers["alpha-crown"] + tol)
        check_sound(net, dom, C, lowers, rng)


@pytest.mark.parametrize("norm", [2, np.inf])
def test_regression_output_bounds_sound(norm):
    rng = np.random.default_rng(3)
    net = random_net(rng, 3, 2, "relu", depth=2)
    dom = random_domain(rng, 4, 3, norm, masked=False, boxed=False)
    C = output_specs(4, 2)
    lower = bound_specs(net, dom, C)
    vals = check_sound(net, dom, C, {"crown": lower}, rng)
    assert np.all(-lower[:, 2:] >= -vals[:, 2:] - 1e-9)  # upper >= sampled max


# --- exactness on linear maps ---------------------------------------------------


@pytest.mark.parametrize("norm", [2, np.inf])
@pytest.mark.parametrize("depth", [0, 2])
def test_exact_on_linear_networks(norm, depth):
    rng = np.random.default_rng(4)
    net = random_net(rng, 4, 3, "identity", depth=depth)
    mask = np.array([True, False, True, True])
    dom = Domain(rng.normal(size=(5, 4)), rng.uniform(0.1, 1, 5), norm, mask=mask)
    C = margin_specs(3, rng.integers(0, 3, 5))
    W = np.eye(4)
    b = np.zeros(4)
    for Wl, bl in zip(net.coefs, net.intercepts):
        W, b = W @ Wl, b @ Wl + bl
    A = np.einsum("nko,do->nkd", C, W)
    q = 1 if norm == np.inf else 2
    closed = (
        np.einsum("nkd,nd->nk", A, dom.Z)
        + C @ b
        - dom.eps[:, None] * np.linalg.norm(A[:, :, mask], ord=q, axis=2)
    )
    for method in ("crown", "alpha-crown"):
        lower, state = bound_specs(net, dom, C, method=method, return_state=True)
        np.testing.assert_allclose(lower, closed)
        # The state's points attain the bound: f is linear.
        np.testing.assert_allclose(
            spec_values(net, C, state.points).diagonal(0, 1, 2), closed
        )
    if depth == 0:
        np.testing.assert_allclose(bound_specs(net, dom, C, method="interval"), closed)


# --- brute force in 2-D -----------------------------------------------------------


@pytest.mark.parametrize("norm", [2, np.inf])
def test_bruteforce_grid_2d(norm):
    rng = np.random.default_rng(5)
    g = np.linspace(-1, 1, 201)
    G = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    if norm == 2:
        angle = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
        circle = np.stack([np.cos(angle), np.sin(angle)], 1)
        G = np.vstack([G[np.linalg.norm(G, axis=1) <= 1], circle])
    looser = 0
    for _trial in range(8):
        net = random_net(rng, 2, 3, "relu", depth=int(rng.integers(1, 3)))
        Z = rng.uniform(-1, 1, size=(3, 2))
        eps = np.array([0.001, 0.3, 1.0])
        dom = Domain(Z, eps, norm)
        C = margin_specs(3, rng.integers(0, 3, 3))
        X = Z[:, None, :] + eps[:, None, None] * G[None]
        grid_min = spec_values(net, C, X).min(axis=1)
        out = {m: bound_specs(net, dom, C, method=m, n_iter=30) for m in METHODS}
        _, state = bound_specs(net, dom, C, return_state=True)
        assert np.all(out["interval"] <= out["crown"] + 1e-9)
        assert np.all(out["crown"] <= out["alpha-crown"] + 1e-9)
        assert np.all(out["alpha-crown"] <= grid_min + 1e-9)
        # All ReLUs stable: the network is affine on the ball, CROWN is exact
        # (the grid holds the Linf corners and 4000 points of the L2 circle).
        stable = np.ones(3, bool)
        for l, u in state.pre_bounds:
            stable &= np.all((l >= 0) | (u <= 0), axis=1)
        tol = 1e-9 if norm == np.inf else 1e-5 * eps[:, None]
        close = np.abs(out["crown"] - grid_min) <= tol
        assert np.all(close[stable])
        looser += np.sum(out["alpha-crown"] > out["crown"] + 1e-9)
        # Not absurdly loose at a moderate radius.
        assert np.all(
            grid_min[1] - out["crown"][1]
            <= 5 * (grid_min[1] - out["interval"][1]) + 1e-9
        )
    assert looser > 0  # alpha-CROWN improved somewhere


# --- alpha-CROWN ----------------------------------------------------------------


@pytest.mark.parametrize("norm", [2, np.inf])
def test_alpha_gradient_matches_finite_differences(norm):
    rng = np.random.default_rng(6)
    net = random_net(rng, 3, 3, "relu", depth=3, scale=2.0)
    dom = Domain(rng.normal(size=(4, 3)), 1.0, norm)
    C = margin_specs(3, rng.integers(0, 3, 4))
    _, lines = crown_pre_bounds(net, dom)
    G = np.matmul(C, net.coefs[-1].T)
    const = C @ net.intercepts[-1]
    top = net.n_layers - 1
    alphas = [rng.uniform(0.1, 0.9, size=(4, 2, ln[0].shape[1])) for ln in lines]
    lower, grads = bound_and_gradient(net, dom, G, const, top, lines, alphas)
    np.testing.assert_allclose(
        lower, backward_bound(net, dom, G, const, top, lines, alphas)
    )
    h = 1e-6
    checked = 0
    for j, a in enumerate(alphas):
        unstable = lines[j][4]
        for i, r, c in zip(*np.nonzero(np.broadcast_to(unstable[:, None, :], a.shape))):
            plus = [x.copy() for x in alphas]
            minus = [x.copy() for x in alphas]
            plus[j][i, r, c] += h
            minus[j][i, r, c] -= h
            fp = backward_bound(net, dom, G, const, top, lines, plus)[i, r]
            fm = backward_bound(net, dom, G, const, top, lines, minus)[i, r]
            np.testing.assert_allclose(
                grads[j][i, r, c], (fp - fm) / (2 * h), rtol=1e-5, atol=1e-7
            )
            checked += 1
    assert checked > 10
    # The slopes of one row leave the other rows' bounds alone.
    plus = [x.copy() for x in alphas]
    plus[0][:, 0] = 0.5
    np.testing.assert_array_equal(
        backward_bound(net, dom, G, const, top, lines, plus)[:, 1], lower[:, 1]
    )


@pytest.mark.parametrize("norm", [2, np.inf])
def test_optimised_hidden_bounds_sound(norm):
    rng = np.random.default_rng(10)
    gained = 0.0
    for _trial in range(3):
        net = random_net(rng, 3, 3, "relu", depth=3)
        dom = random_domain(rng, 5, 3, norm, masked=False, boxed=True)
        C = margin_specs(3, rng.integers(0, 3, 5))
        lower, state = bound_specs(
            net, dom, C, method="alpha-crown", n_iter_hidden=10, return_state=True
        )
        _, plain = bound_specs(net, dom, C, return_state=True)
        for (l, u), (pl, pu) in zip(state.pre_bounds, plain.pre_bounds):
            assert np.all(l >= pl) and np.all(u <= pu)
            gained += np.sum((pu - pl) - (u - l))
        assert np.all(lower >= bound_specs(net, dom, C))
        check_sound(net, dom, C, {"alpha-crown hidden": lower}, rng)
        # The hidden bounds hold too: pre-activations at sampled points.
        X = domain_points(rng, dom, 500).reshape(-1, 3)
        h = X
        for layer, (l, u) in enumerate(state.pre_bounds):
            z = h @ net.coefs[layer] + net.intercepts[layer]
            assert np.all(z >= np.repeat(l, 500, axis=0) - 1e-9)
            assert np.all(z <= np.repeat(u, 500, axis=0) + 1e-9)
            h = np.maximum(z, 0)
    assert gained > 0


def test_alpha_never_looser_and_state():
    rng = np.random.default_rng(7)
    net = random_net(rng, 5, 4, "relu", depth=2)
    dom = Domain(rng.normal(size=(7, 5)), 0.5, np.inf)
    C = margin_specs(4, rng.integers(0, 4, 7))
    crown = bound_specs(net, dom, C)
    for n_iter in (0, 1, 5):
        alpha = bound_specs(net, dom, C, method="alpha-crown", n_iter=n_iter)
        assert np.all(alpha >= crown - 1e-12)
    lower, state = bound_specs(net, dom, C, method="alpha-crown", return_state=True)
    assert len(state.pre_bounds) == 2 and len(state.alpha) == 2
    assert state.alpha[0].shape == (7, 3, net.coefs[0].shape[1])
    assert np.all((state.alpha[1] >= 0) & (state.alpha[1] <= 1))
    # Warm start from the state is never looser.
    again = bound_specs(net, dom, C, method="alpha-crown", n_iter=3, init=state)
    assert np.all(again >= lower - 1e-12)
    # Chunking does not change the result.
    np.testing.assert_allclose(bound_specs(net, dom, C, chunk=3), crown)
    np.testing.assert_allclose(
        bound_specs(net, dom, C, method="alpha-crown", chunk=2), lower
    )
    assert bound_specs(net, dom.subset([]), C[:0]).shape == (0, 3)
    sub = state.subset([4, 1])
    np.testing.assert_array_equal(sub.lower, lower[[4, 1]])


# --- splits ---------------------------------------------------------------------


@pytest.mark.parametrize("norm", [2, np.inf])
def test_splits_sound_on_restricted_domain(norm):
    rng = np.random.default_rng(8)
    for _trial in range(4):
        net = random_net(rng, 3, 3, "relu", depth=2)
        n = 6
        dom = Domain(rng.uniform(-1, 1, size=(n, 3)), 0.8, norm)
        C = margin_specs(3, rng.integers(0, 3, n))
        _, state = bound_specs(net, dom, C, return_state=True)
        splits = []
        for l, u in state.pre_bounds:
            s = np.zeros(l.shape, np.int8)
            unstable = (l < 0) & (u > 0)
            pick = unstable & (rng.uniform(size=l.shape) < 0.5)
            s[pick] = rng.choice([-1, 1], size=pick.sum())
            splits.append(s)
        lowers = {
            m: bound_specs(net, dom, C, method=m, splits=splits, n_iter=10)
            for m in METHODS
        }
        X = domain_points(rng, dom, 4000)
        flat = X.reshape(-1, 3)
        keep = np.ones(flat.shape[0], bool)
        h = flat
        for layer, s in enumerate(splits):
            z = h @ net.coefs[layer] + net.intercepts[layer]
            srep = np.repeat(s, 4000, axis=0)
            keep &= np.all(
                (srep == 0) | ((srep > 0) & (z >= 0)) | ((srep < 0) & (z <= 0)), axis=1
            )
            h = np.maximum(z, 0)
        vals = np.where(
            keep.reshape(n, 4000)[:, :, None], spec_values(net, C, X), np.inf
        )
        vmin = vals.min(axis=1)
        for m, lower in lowers.items():
            assert np.all(lower <= vmin + 1e-9), m
        # Clamped bounds: the split neurons are stable in the state.
        _, st = bound_specs(net, dom, C, splits=splits, return_state=True)
        for (l, u), s in zip(st.pre_bounds, splits):
            assert np.all(l[s > 0] >= 0) and np.all(u[s < 0] <= 0)


def test_infeasible_split_gives_inf():
    # One hidden unit z = x with x in [0.5, 1.5]: the split z <= 0 is empty.
    net = Network(
        [np.ones((1, 1)), np.array([[1.0, -1.0]])], [np.zeros(1), np.zeros(2)]
    )
    dom = Domain(np.ones((2, 1)), 0.5, np.inf)
    C = margin_specs(2, np.array([0, 1]))
    splits = [np.array([[-1], [0]], np.int8)]
    lower, state = bound_specs(net, dom, C, splits=splits, return_state=True)
    assert np.isinf(lower[0]).all() and np.isfinite(lower[1]).all()
    np.testing.assert_array_equal(state.infeasible, [True, False])


def test_float32_network_bounded_in_float64():
    rng = np.random.default_rng(11)
    net = random_net(rng, 3, 3, "tanh", depth=2)
    net32 = Network(
        [W.astype(np.float32) for W in net.coefs],
        [b.astype(np.float32) for b in net.intercepts],
        "tanh",
    )
    net64 = Network(
        [W.astype(np.float64) for W in net32.coefs],
        [b.astype(np.float64) for b in net32.intercepts],
        "tanh",
    )
    dom = Domain(rng.normal(size=(4, 3)), 0.3, np.inf)
    C = margin_specs(3, rng.integers(0, 3, 4))
    lower = bound_specs(net32, dom, C)
    assert lower.dtype == np.float64
    np.testing.assert_array_equal(lower, bound_specs(net64, dom, C))


# --- errors -----------------------------------------------------------------------


def test_bound_specs_errors():
    rng = np.random.default_rng(9)
    net = random_net(rng, 3, 3, "relu", depth=1)
    dom = Domain(np.zeros((2, 3)), 0.1, 2)
    C = margin_specs(3, np.array([0, 1]))
    with pytest.raises(ValueError, match="method"):
        bound_specs(net, dom, C, method="beta")
    with pytest.raises(ValueError, match="C must have shape"):
        bound_specs(net, dom, C[:1])
    with pytest.raises(ValueError, match="features"):
        bound_specs(net, Domain(np.zeros((2, 4)), 0.1, 2), C)
    with pytest.raises(ValueError, match="splits"):
        bound_specs(net, dom, C, splits=[np.zeros((2, 1), np.int8)])
    with pytest.raises(ValueError, match="n_iter"):
        bound_specs(net, dom, C, method="alpha-crown", n_iter=-1)
