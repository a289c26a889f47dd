"""Stochastic optimizers acting in place on one flat parameter vector.

Same update rules as scikit-learn's ``SGDOptimizer`` and ``AdamOptimizer``, but
one vectorised pass over all parameters instead of a Python loop over layers,
and no allocation per update (one scratch buffer is reused).
"""

import numpy as np


class SGD:
    """SGD with (Nesterov) momentum and scikit-learn's learning-rate schedules."""

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
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocity = np.zeros(n_params, dtype=dtype)
        self._buf = np.empty(n_params, dtype=dtype)

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

    def ensure_dtype(self, dtype):
        """Follow the parameters' dtype (a warm start on other data)."""
        if self.velocity.dtype != dtype:
            self.velocity = self.velocity.astype(dtype)
            self._buf = np.empty_like(self.velocity)

    def iteration_ends(self, time_step):
        """Update the learning rate at the end of an epoch."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        """Return True to stop; the adaptive schedule divides the rate first."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class Adam:
    """Adam (Kingma & Ba, 2014) with bias-corrected step size.

    The moments are stored unnormalised, ``m / (1 - beta_1)`` and
    ``v / (1 - beta_2)``, with the constants folded into the step size and
    epsilon: the same update as scikit-learn's (up to rounding) in 10 passes
    over the parameters instead of 12. The step is compute-bound (square
    root, division), so every pass saved counts.
    """

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)
        self._buf = np.empty(n_params, dtype=dtype)

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

    def ensure_dtype(self, dtype):
        """Follow the parameters' dtype (a warm start on other data)."""
        if self.m.dtype != dtype:
            self.m, self.v = self.m.astype(dtype), self.v.astype(dtype)
            self._buf = np.empty_like(self.m)

    def iteration_ends(self, time_step):
        """Adam keeps its rate; nothing to do at the end of an epoch."""

    def trigger_stopping(self, msg, verbose):
        """Always stop when progress stalls."""
        if verbose:
            print(msg + " Stopping.")
        return True
