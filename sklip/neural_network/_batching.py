"""Data for the stochastic solvers: batch size, validation split, mini-batches."""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import train_test_split

from .._validation import show


def batch_size(estimator, n_samples):
    """The mini-batch size: ``batch_size`` clipped to ``[1, n_samples]``
    (with scikit-learn's warning), ``min(200, n_samples)`` for ``"auto"``."""
    if estimator.batch_size == "auto":
        return min(200, n_samples)
    if estimator.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than "
            "sample size. It is going to be clipped",
            stacklevel=3,
        )
    return int(np.clip(estimator.batch_size, 1, n_samples))


def validation_split(estimator, rng, X, Y, sw, strata):
    """The early-stopping split ``(X, X_val, Y, Y_val, sw, sw_val)``.

    Stratified by ``strata`` (class labels; None for regressors) whenever
    every class fits on both sides of the split: scikit-learn raises for
    binary targets and does not stratify multiclass ones at all.

    Parameters
    ----------
    estimator : BaseLipschitzMLP
        For ``validation_fraction`` and ``classes_`` (in messages).
    rng : numpy.random.RandomState
        The fit's random state.
    X, Y, sw, strata : arrays
        Validated data, encoded targets, sample weights (or None) and the
        labels to stratify by (or None).

    Raises
    ------
    ValueError
        When a class has a single member, the validation set would hold
        fewer than 2 samples, or one side of the split has no weight.
    """
    test_size = estimator.validation_fraction
    stratify = strata
    if stratify is not None:
        labels, counts = np.unique(stratify, return_counts=True)
        if counts.min() < 2:
            raise ValueError(_too_few_members_message(estimator, labels, counts))
        # Stratify whenever every class fits on both sides of the split;
        # the split is checked for size below.
        n_val = int(np.ceil(test_size * X.shape[0]))
        if n_val < counts.size or X.shape[0] - n_val < counts.size:
            stratify = None
    arrays = (X, Y) if sw is None else (X, Y, sw)
    parts = train_test_split(
        *arrays, random_state=rng, test_size=test_size, stratify=stratify
    )
    X_train, X_val, Y_train, Y_val = parts[:4]
    sw_train, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    if sw is not None:
        # A validation score is a weighted mean: undefined without weight.
        # (Reporting 0 would stop training at a random model.)
        for part, weights in (("validation", sw_val), ("training", sw_train)):
            if not weights.sum() > 0:
                raise ValueError(
                    "early_stopping=True: every sample of the "
                    f"{part} split (validation_fraction={test_size}) has "
                    "zero sample_weight, so the validation score or the "
                    "training loss is undefined. Give more samples a "
                    "positive sample_weight, change validation_fraction or "
                    "random_state, or set early_stopping=False."
                )
    return X_train, X_val, Y_train, Y_val, sw_train, sw_val


def _too_few_members_message(estimator, labels, counts):
    """The error for classes too small for a stratified split."""
    too_few = [str(label) for label in labels[counts < 2]]
    msg = (
        "The least populated classes in y have only 1 member, which is too "
        "few for the stratified validation split of early_stopping=True: "
        "every class needs at least 2 samples. Classes with too few "
        f"members are: {too_few}."
    )
    if labels.dtype == bool:
        negative, positive = np.asarray(estimator.classes_).tolist()
        msg += (
            " (Binary targets are stratified by the indicator of "
            f"classes_[1]: True is class {show(positive)}, False is class "
            f"{show(negative)}.)"
        )
    return msg + " Add samples of these classes or set early_stopping=False."


class Batches:
    """Mini-batches of ``(X, Y, sample_weight)``, in order or gathered.

    Shuffled dense batches are gathered one at a time into fixed buffers: the
    batch is then hot in cache for its first GEMM, and the data is never
    copied whole, so memory grows with the data only through the data.
    With ``spare`` the returned ``X`` has one more row than the batch, for
    the penalty to ride in backpropagation (see ``Objective.value_and_grad``);
    sparse batches have none.

    Parameters
    ----------
    X, Y, sw : arrays
        Training data, encoded targets, sample weights (or None).
    batch_size : int
    spare : int, default=0
        1 to give every dense batch a spare row.
    """

    def __init__(self, X, Y, sw, batch_size, spare=0):
        self.X, self.Y, self.sw = X, Y, sw
        self.dense = not sp.issparse(X)
        self.spare = spare if self.dense else 0
        if self.dense:
            self.X_buf = np.empty((batch_size + self.spare, X.shape[1]), X.dtype)
            self.Y_buf = np.empty((batch_size, Y.shape[1]), Y.dtype)
            self.sw_buf = None if sw is None else np.empty(batch_size, sw.dtype)

    def __call__(self, order, start, stop):
        """Rows ``order[start:stop]`` (``start:stop`` when ``order`` is None)."""
        X, Y, sw = self.X, self.Y, self.sw
        m = stop - start
        if order is None:
            Y_b, sw_b = Y[start:stop], None if sw is None else sw[start:stop]
            if not self.spare:
                return X[start:stop], Y_b, sw_b
            np.copyto(self.X_buf[:m], X[start:stop])
            return self.X_buf[: m + 1], Y_b, sw_b
        idx = order[start:stop]
        if not self.dense:
            return X[idx], Y[idx], None if sw is None else sw[idx]
        # mode="clip" (the indices are valid): "raise" buffers a whole copy.
        np.take(X, idx, axis=0, out=self.X_buf[:m], mode="clip")
        X_b = self.X_buf[: m + self.spare]
        Y_b = np.take(Y, idx, axis=0, out=self.Y_buf[:m], mode="clip")
        if sw is None:
            return X_b, Y_b, None
        return X_b, Y_b, np.take(sw, idx, out=self.sw_buf[:m], mode="clip")
