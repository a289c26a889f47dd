"""The input domain of a verification problem and linear bounds over it."""

import numpy as np


def _as_norm(norm):
    if norm == 2:
        return 2
    if norm == np.inf:
        return np.inf
    raise ValueError(f"norm must be 2 or np.inf; got {norm!r}.")


class Domain:
    """Per-sample Lp balls in the attack space, optionally cut by a box.

    The domain of sample ``i`` is the set of ``x`` with
    ``||x_M - Z_i,M||_p <= eps_i`` on the movable coordinates ``M``,
    ``x = Z_i`` on the others, and ``low <= x_M <= high`` when a box is given.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_features)
        Centers.
    eps : float or array-like of shape (n_samples,)
        Radius of each ball (>= 0), in the units of ``Z``.
    norm : {2, np.inf}
        The ball's norm.
    mask : array-like of bool of shape (n_features,), default=None
        Movable coordinates; None means all.
    box : tuple (low, high), default=None
        Bounds of the movable coordinates, scalars or arrays of shape
        (n_movable,); each center must lie in the box.

    Attributes
    ----------
    n_samples, n_features : int
    movable : ndarray of int or None
        Indices of the movable coordinates (None: all).
    """

    def __init__(self, Z, eps, norm, mask=None, box=None):
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2:
            raise ValueError(f"Z must be 2-D (n_samples, n_features); got {Z.shape}.")
        n, d = Z.shape
        self.norm = _as_norm(norm)
        self.mask = None
        self.movable = None
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (d,):
                raise ValueError(
                    f"mask must be None or a bool array of shape ({d},); "
                    f"got dtype {mask.dtype} and shape {mask.shape}."
                )
            self.mask = mask
            self.movable = np.flatnonzero(mask)
        m = d if self.movable is None else self.movable.size
        self.Z = Z
        self.eps = self._check_eps(eps, n)
        self.box = None
        if box is not None:
            try:
                low, high = box
            except (TypeError, ValueError):
                raise ValueError(
                    f"box must be None or (low, high); got {box!r}."
                ) from None
            low = np.broadcast_to(np.asarray(low, np.float64), (m,)).copy()
            high = np.broadcast_to(np.asarray(high, np.float64), (m,)).copy()
            if np.any(np.isnan(low)) or np.any(np.isnan(high)) or np.any(low > high):
                raise ValueError("box must satisfy low <= high, without NaN.")
            Zm = self._movable(Z)
            if np.any(Zm < low) or np.any(Zm > high):
                raise ValueError("box excludes some centers Z; each must lie in it.")
            self.box = (low, high)

    @staticmethod
    def _check_eps(eps, n):
        """The radii as an array of shape ``(n,)``, checked.

        Parameters
        ----------
        eps : float or array-like of shape (n,)
            One radius for every ball, or one per ball; in the units of
            ``Z`` (the attack space).
        n : int
            Number of samples.

        Returns
        -------
        eps : ndarray of shape (n,)
            float64, finite and ``>= 0``.

        Raises
        ------
        ValueError
            If the shape is wrong, or a radius is NaN, infinite or negative.
        """
        eps = np.asarray(eps, dtype=np.float64)
        if eps.ndim == 0:
            eps = np.full(n, float(eps))
        if eps.shape != (n,):
            raise ValueError(
                f"eps must be a float or an array of shape ({n},); "
                f"got shape {eps.shape}."
            )
        if not np.all(np.isfinite(eps)) or np.any(eps < 0):
            raise ValueError("eps must be finite and >= 0.")
        return eps

    @property
    def n_samples(self):
        """Number of samples (balls)."""
        return self.Z.shape[0]

    @property
    def n_features(self):
        """Dimension of the space."""
        return self.Z.shape[1]

    def _movable(self, X):
        return X if self.movable is None else X[..., self.movable]

    def _copy(self, Z, eps):
        new = object.__new__(Domain)
        new.__dict__.update(self.__dict__)
        new.Z, new.eps = Z, eps
        return new

    def subset(self, rows):
        """The domain of the samples ``rows`` (an index or boolean array)."""
        return self._copy(self.Z[rows], self.eps[rows])

    def with_eps(self, eps):
        """The same centers with radii ``eps`` (float or (n_samples,))."""
        return self._copy(self.Z, self._check_eps(eps, self.n_samples))

    def _radii(self):
        """Per-coordinate distances ``(x0 - lo, hi - x0)`` of the Linf domain,
        each (n, n_movable): ``eps`` shortened by the box."""
        e = self.eps[:, None]
        if self.box is None:
            return e, e
        Zm = self._movable(self.Z)
        low, high = self.box
        return np.minimum(e, Zm - low), np.minimum(e, high - Zm)

    def _l2_box(self):
        """Whether the box can tighten L2 bounds (every side finite)."""
        return (
            self.box is not None
            and np.all(np.isfinite(self.box[0]))
            and np.all(np.isfinite(self.box[1]))
        )

    def concretize(self, A, const=None, return_argmin=False):
        """Lower bounds of ``A x + const`` over each sample's domain.

        Parameters
        ----------
        A : ndarray of shape (n_samples, k, n_features) or (k, n_features)
            Linear coefficients per sample (or shared by all samples).
        const : ndarray of shape (n_samples, k) or (k,), default=None
            Constant terms.
        return_argmin : bool, default=False
            Also return a minimiser ``x*`` of each row (its value is the bound,
            exactly for the ball and for the Linf box; for the L2 ball with a
            box, of the bound that was larger), of shape (n_samples, k,
            n_features). It is the gradient of the bound in ``A``.

        Returns
        -------
        lower : ndarray of shape (n_samples, k)
        argmin : ndarray, only when ``return_argmin``
        """
        Z = self.Z
        shared = A.ndim == 2
        base = Z @ A.T if shared else np.matmul(A, Z[:, :, None])[..., 0]
        if const is not None:
            base = base + const
        Am = self._movable(A)
        eps = self.eps[:, None]
        low_box = None
        if self.norm == np.inf:
            if self.box is None:
                lower = base - eps * (np.abs(Am).sum(axis=-1))
            else:
                rl, ru = self._radii()
                pos = np.maximum(Am, 0)
                neg = Am - pos
                if shared:
                    lower = base - rl @ pos.T + ru @ neg.T
                else:
                    lower = (
                        base
                        - np.matmul(pos, rl[:, :, None])[..., 0]
                        + np.matmul(neg, ru[:, :, None])[..., 0]
                    )
        else:
            nrm = np.sqrt((Am * Am).sum(axis=-1))
            lower = base - eps * nrm
            if self._l2_box():
                Zm = self._movable(Z)
                low, high = self.box
                pos = np.maximum(Am, 0)
                neg = Am - pos
                if shared:
                    boxed = base - (Zm - low) @ pos.T + (high - Zm) @ neg.T
                else:
                    boxed = (
                        base
                        - np.matmul(pos, (Zm - low)[:, :, None])[..., 0]
                        + np.matmul(neg, (high - Zm)[:, :, None])[..., 0]
                    )
                low_box = boxed > lower
                lower = np.maximum(lower, boxed)
        if not return_argmin:
            return lower
        return lower, self._argmin(A, shared, low_box)

    def _argmin(self, A, shared, low_box):
        """Minimisers of the rows of ``A x`` (see :meth:`concretize`)."""
        n, d = self.Z.shape
        k = A.shape[-2]
        Am = self._movable(A)
        if shared:
            Am = np.broadcast_to(Am, (n,) + Am.shape)
        X = np.broadcast_to(self.Z[:, None, :], (n, k, d)).copy()
        Zm = self._movable(self.Z)[:, None, :]
        if self.norm == np.inf and self.box is None:
            Xm = Zm - self.eps[:, None, None] * np.sign(Am)
        elif self.norm == np.inf:
            rl, ru = self._radii()
            Xm = Zm - rl[:, None, :] * (Am > 0) + ru[:, None, :] * (Am < 0)
        else:
            nrm = np.sqrt((Am * Am).sum(axis=-1, keepdims=True))
            Xm = Zm - self.eps[:, None, None] * Am / np.where(nrm > 0, nrm, 1.0)
            if low_box is not None:
                low, high = self.box
                corner = np.where(Am > 0, low, np.where(Am < 0, high, Zm))
                Xm = np.where(low_box[:, :, None], corner, Xm)
        if self.movable is None:
            X[...] = Xm
        else:
            X[..., self.movable] = Xm
        return X

    def project(self, X):
        """A point of each sample's domain near ``X`` (n_samples, n_features):
        fixed coordinates reset, the ball's radial projection, then the box
        clip (which keeps the point in the ball since the center is in the box).
        """
        X = np.array(X, dtype=np.float64)
        Zm = self._movable(self.Z)
        D = self._movable(X) - Zm
        e = self.eps[:, None]
        if self.norm == np.inf:
            D = np.clip(D, -e, e)
        else:
            nrm = np.sqrt((D * D).sum(axis=1, keepdims=True))
            D = D * np.minimum(1.0, e / np.where(nrm > 0, nrm, 1.0))
        Xm = Zm + D
        if self.box is not None:
            Xm = np.clip(Xm, self.box[0], self.box[1])
        out = self.Z.copy()
        if self.movable is None:
            out[...] = Xm
        else:
            out[:, self.movable] = Xm
        return out

    def contains(self, X, atol=1e-9):
        """Whether each row of ``X`` (n_samples, n_features) lies in its
        sample's domain, up to ``atol``; bool array (n_samples,)."""
        X = np.asarray(X, dtype=np.float64)
        fixed_ok = True
        if self.movable is not None:
            fixed_ok = np.all(
                np.abs(X[:, ~self.mask] - self.Z[:, ~self.mask]) <= atol, axis=1
            )
        D = self._movable(X) - self._movable(self.Z)
        if self.norm == np.inf:
            dist = np.abs(D).max(axis=1) if D.shape[1] else np.zeros(len(D))
        else:
            dist = np.sqrt((D * D).sum(axis=1))
        ok = fixed_ok & (dist <= self.eps + atol)
        if self.box is not None:
            Xm = self._movable(X)
            ok &= np.all(
                (Xm >= self.box[0] - atol) & (Xm <= self.box[1] + atol), axis=1
            )
        return ok
