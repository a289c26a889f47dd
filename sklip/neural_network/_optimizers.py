"""Stochastic optimizers acting in place on one flat parameter vector.

Same update rules as scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``, but
one vectorised pass over all parameters instead of a Python loop over layers,
and no allocation per update (one scratch buffer is reused).

Every optimizer derives from :class:`Optimizer` and is registered in
:data:`OPTIMIZERS` under the ``solver`` name that selects it.
"""

from abc import ABC, abstractmethod

import numpy as np


class Optimizer(ABC):
    """One stochastic update rule over a flat parameter vector.

    Subclasses implement :meth:`update` and :meth:`from_estimator`, and name
    in ``_moments`` the attributes holding per-parameter state (arrays of the
    parameters' size, converted by :meth:`ensure_dtype`).

    Parameters
    ----------
    n_params : int
        Size of the parameter vector.
    dtype : numpy dtype
        The parameters' dtype (of the moments and the scratch buffer).
    learning_rate_init : float
        The initial step size.
    """

    _moments = ()

    def __init__(self, n_params, dtype, learning_rate_init):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self._buf = np.empty(n_params, dtype=dtype)

    @classmethod
    @abstractmethod
    def from_estimator(cls, estimator, n_params, dtype):
        """The optimizer an estimator's parameters ask for."""

    @abstractmethod
    def update(self, params, grad):
        """Apply one step to ``params`` in place."""

    def ensure_dtype(self, dtype):
        """Follow the parameters' dtype (a warm start on other data)."""
        if self._buf.dtype != dtype:
            for name in self._moments:
                setattr(self, name, getattr(self, name).astype(dtype))
            self._buf = np.empty(self._buf.size, dtype=dtype)

    def iteration_ends(self, time_step):  # noqa: B027 - an optional hook
        """Update the learning rate at the end of an epoch (default: keep it)."""

    def trigger_stopping(self, msg, verbose):
        """Return True to stop when progress stalls (default: always)."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGD(Optimizer):
    """SGD with (Nesterov) momentum and scikit-learn's learning-rate schedules."""

    _moments = ("velocity",)

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init,
        lr_schedule,
        momentum,
        nesterov,
        power_t,
    ):
        super().__init__(n_params, dtype, learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)

    @classmethod
    def from_estimator(cls, estimator, n_params, dtype):
        """SGD with the estimator's rate, schedule and momentum."""
        return cls(
            n_params,
            dtype,
            estimator.learning_rate_init,
            estimator.learning_rate,
            estimator.momentum,
            estimator.nesterovs_momentum,
            estimator.power_t,
        )

    def update(self, params, grad):
        """Apply one step to ``params`` in place."""
        step = np.multiply(grad, self.learning_rate, out=self._buf)
        self.velocity *= self.momentum
        self.velocity -= step
        if self.nesterov:
            params += self.momentum * self.velocity
            params -= step
        else:
            params += self.velocity

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Return True to stop; the adaptive schedule divides the rate first."""
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014) with bias-corrected step size.

    The moments are stored unnormalised, ``m / (1 - beta_1)`` and
    ``v / (1 - beta_2)``, with the constants folded into the step size and
    epsilon: the same update as scikit-learn's (up to rounding) in 10 passes
    over the parameters instead of 12. The step is compute-bound (square
    root, division), so every pass saved counts.
    """

    _moments = ("m", "v")

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        super().__init__(n_params, dtype, learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)

    @classmethod
    def from_estimator(cls, estimator, n_params, dtype):
        """Adam with the estimator's rate and moment parameters."""
        return cls(
            n_params,
            dtype,
            estimator.learning_rate_init,
            estimator.beta_1,
            estimator.beta_2,
            estimator.epsilon,
        )

    def update(self, params, grad):
        """Apply one step to ``params`` in place."""
        b1, b2, buf = self.beta_1, self.beta_2, self._buf
        self.t += 1
        self.m *= b1
        self.m += grad
        np.multiply(grad, grad, out=buf)
        self.v *= b2
        self.v += buf
        # The rate scikit-learn reports; the step below is the same update:
        # lr * m_true / (sqrt(v_true) + eps) with m_true = (1 - b1) m,
        # v_true = (1 - b2) v.
        self.learning_rate = (
            self.learning_rate_init * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        )
        root = np.sqrt(1 - b2)
        np.sqrt(self.v, out=buf)
        buf += self.epsilon / root
        np.divide(self.m, buf, out=buf)
        buf *= self.learning_rate * (1 - b1) / root
        params -= buf


# solver name -> optimizer class; the stochastic solvers are these.
OPTIMIZERS = {"sgd": SGD, "adam": Adam}
