"""Progress of a fit: ``verbose`` printing and scikit-learn's callback API.

With scikit-learn >= 1.9 (``sklearn.callback``) the estimators are
``CallbackSupportMixin``s: ``set_callbacks(ProgressBar(), ScoringMonitor(...))``
on the estimator, or on a ``GridSearchCV`` / ``Pipeline`` holding it (auto
propagated callbacks reach it from there). A fit is one task whose subtasks
are the epochs (sgd, adam) or the iterations (lbfgs), following scikit-learn's
own estimators (``LogisticRegression``'s lbfgs bridge). With older
scikit-learn, ``set_callbacks`` raises a clear error and ``verbose`` still
works.
"""

import sklearn


class _CallbacksUnavailable:
    """Stand-in for ``CallbackSupportMixin`` under scikit-learn < 1.9."""

    def set_callbacks(self, *callbacks):
        """Callbacks need scikit-learn >= 1.9; this raises.

        Parameters
        ----------
        *callbacks : callback instances

        Raises
        ------
        RuntimeError
            Always: the installed scikit-learn has no ``sklearn.callback``.
        """
        raise RuntimeError(
            "Callbacks (set_callbacks, sklearn.callback.ProgressBar, "
            "ScoringMonitor) need scikit-learn >= 1.9; scikit-learn "
            f"{sklearn.__version__} is installed. Upgrade scikit-learn, or "
            "use verbose=True for per-epoch progress."
        )


try:
    from sklearn.callback import CallbackSupportMixin

    CALLBACKS_AVAILABLE = True
except ImportError:  # scikit-learn < 1.9
    CallbackSupportMixin = _CallbacksUnavailable
    CALLBACKS_AVAILABLE = False


class FitMonitor:
    """Verbose lines and callback hooks of one ``fit`` / ``partial_fit`` call.

    Parameters
    ----------
    estimator : BaseLipschitzMLP
    X : array-like
        Validated training data (what the callbacks score on).
    Y : ndarray
        Encoded targets; decoded lazily for callbacks that need ``y``.
    sample_weight : ndarray or None
    max_subtasks : int or None
        Epochs or iterations this call may run.
    """

    def __init__(self, estimator, X, Y, sample_weight, max_subtasks):
        self.estimator = estimator
        self.verbose = bool(estimator.verbose)
        self.X = X
        self._Y = Y
        self._y = None
        self.metadata = (
            None if sample_weight is None else {"sample_weight": sample_weight}
        )
        self.ctx = None
        self._task = None
        #: Whether anything listens: otherwise the training loops skip the
        #: per-step work (penalty of the lbfgs iterate, copies for callbacks).
        self.active = self.verbose or bool(getattr(estimator, "_skl_callbacks", None))
        if CALLBACKS_AVAILABLE and hasattr(estimator, "_init_callback_context"):
            # Always open the context, as scikit-learn's estimators do: a
            # meta-estimator's task tree is merged with this one even when
            # this estimator holds no callback itself.
            self.ctx = estimator._init_callback_context(max_subtasks=max_subtasks)
            self.ctx.call_on_fit_task_begin(
                estimator=estimator, X=X, y=self._targets, metadata=self.metadata
            )

    @classmethod
    def inactive(cls):
        """A monitor that reports nothing (direct calls of the solvers)."""
        monitor = cls.__new__(cls)
        monitor.active, monitor.ctx, monitor._task = False, None, None
        return monitor

    def _targets(self):
        """``y`` as the user gave it (class labels for classifiers)."""
        if self._y is None:
            binarizer = getattr(self.estimator, "_label_binarizer", None)
            if binarizer is not None:
                self._y = binarizer.inverse_transform(self._Y)
            else:
                self._y = self._Y.ravel() if self._Y.shape[1] == 1 else self._Y
        return self._y

    def _attributes(self, state):
        """The fitted attributes of ``state`` (a ``TrainingState``), as a
        callable: callbacks that rebuild the model ask for them lazily."""
        return state.fitted_attributes

    def step_begin(self, state, name):
        """Open the subtask of one epoch (``name="epoch"``) or iteration."""
        if self.ctx is None or not self.active:
            return
        self._task = self.ctx.subcontext(task_name=name)
        self._task.call_on_fit_task_begin(
            estimator=self.estimator,
            X=self.X,
            y=self._targets,
            metadata=self.metadata,
            reconstruction_attributes=self._attributes(state),
        )

    def step_end(self, state, n_iter, loss, penalty, validation_score=None):
        """Report one finished epoch/iteration; True if a callback asks to stop."""
        if not self.active:
            return False
        if self.verbose:
            line = (
                f"Iteration {n_iter}, loss = {loss:.8f} "
                f"(data {loss - penalty:.8f} + penalty {penalty:.8f})"
            )
            if validation_score is not None:
                line += f", validation score = {validation_score:.6f}"
            print(line, flush=True)
        if self._task is None:
            return False
        task, self._task = self._task, None
        return task.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self._targets,
            metadata=self.metadata,
            reconstruction_attributes=self._attributes(state),
        )

    def close(self, state):
        """End a subtask that never ran (lbfgs) and the fit task itself."""
        if self.ctx is None:
            return
        if self._task is not None:
            self._task.call_on_fit_task_end(estimator=self.estimator)
            self._task = None
        self.ctx.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self._targets,
            metadata=self.metadata,
            reconstruction_attributes=self._attributes(state),
        )
