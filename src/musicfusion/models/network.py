"""A small neural network classifier for real multi-task learning, in JAX + optax.

One shared hidden layer (Dense -> ReLU -> dropout) feeds one softmax head per task, and the
network is trained on the sum of the per-task cross-entropies, so every task shapes the shared
representation. Fitted on a 1-D ``y`` the same class is the single-task network (one head), so
comparing the two isolates the effect of sharing: same size, regularisation and training budget.
"""

import os

from musicfusion.plumbing.runtime import XLA_THREAD_FLAGS

# Set before jax is imported (a no-op if something imported it first): one CPU thread gives
# bit-identical reruns, and parallel Snakemake jobs must not oversubscribe the cores.
os.environ.setdefault("XLA_FLAGS", " ".join(XLA_THREAD_FLAGS))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from functools import partial  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from scipy.special import softmax  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

F32 = jnp.float32


def _forward(params, X, keep_mask=None):
    h = jax.nn.relu(X @ params["W"] + params["b"])
    if keep_mask is not None:
        h = h * keep_mask
    return [h @ W + b for W, b in params["heads"]]


@partial(jax.jit, static_argnames="epochs")
def _train(params, X, Y, key, alpha, learning_rate, dropout, *, epochs):
    """Full-batch Adam for ``epochs`` steps; alpha/learning_rate/dropout are traced (no recompile)."""
    opt = optax.adam(learning_rate)
    n = X.shape[0]
    keep = 1.0 - dropout

    def loss_fn(p, step):
        # Inverted dropout; with dropout=0 every uniform draw is < 1, so the mask is all ones.
        mask = jax.random.bernoulli(jax.random.fold_in(key, step), keep, (n, p["W"].shape[1]))
        logits = _forward(p, X, mask.astype(F32) / keep)
        ce = sum(optax.softmax_cross_entropy_with_integer_labels(z, y).mean() for z, y in zip(logits, Y))
        sq = jnp.sum(p["W"] ** 2) + sum(jnp.sum(W ** 2) for W, _ in p["heads"])
        return ce + 0.5 * alpha * sq / n

    def step_fn(carry, step):
        p, state = carry
        loss, grads = jax.value_and_grad(loss_fn)(p, step)
        updates, state = opt.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), loss

    (params, _), losses = jax.lax.scan(step_fn, (params, opt.init(params)), jnp.arange(epochs))
    return params, losses


class NeuralNetwork(ClassifierMixin, BaseEstimator):
    """Shared-hidden-layer network with one softmax head per task (one task for 1-D ``y``).

    Loss = sum over tasks of the mean softmax cross-entropy + ``alpha / (2 * n_samples) * ||W||^2``
    over all weight matrices (not biases): exactly scikit-learn MLPClassifier's L2 scaling for a full
    batch. Trained with full-batch Adam for ``epochs`` steps. X is used as given (standardise it first).
    ``loss_curve_`` holds that loss (on the dropout pass) at every step, before the step's update.
    """

    def __init__(self, hidden_units=128, alpha=1e-3, dropout=0.0, learning_rate=1e-3, epochs=200,
                 random_state=None):
        self.hidden_units = hidden_units
        self.alpha = alpha
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        if int(self.hidden_units) < 1 or int(self.epochs) < 1:
            raise ValueError(f"hidden_units and epochs must be >= 1, got {self.hidden_units}, {self.epochs}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        X = validate_data(self, X, dtype=np.float32, ensure_all_finite=True)
        y = np.asarray(y)
        if y.ndim not in (1, 2):
            raise ValueError(f"y must be 1-D (one task) or 2-D (n_samples, n_tasks), got {y.ndim}-D")
        if len(y) != len(X):
            raise ValueError(f"X and y have different numbers of samples: {len(X)} != {len(y)}")
        Y = y.reshape(len(y), -1)
        classes, codes = [], []
        for j in range(Y.shape[1]):
            cls, code = np.unique(Y[:, j], return_inverse=True)
            if len(cls) < 2:
                raise ValueError(f"task {j} of y has {len(cls)} class(es); at least 2 are needed")
            classes.append(cls)
            codes.append(code.reshape(-1))

        # x64 off for this fit only (e.g. optax's Adam bias correction would otherwise run in
        # float64), so results are pure float32 and identical whatever the global jax config.
        with jax.enable_x64(False):
            params, losses = self._fit_jax(X, codes, [len(c) for c in classes])

        # Plain numpy copies only: the fitted estimator pickles (and skops-loads) without jax state.
        def to_np(a):
            return np.array(a, dtype=np.float32, copy=True)

        self.hidden_weights_, self.hidden_bias_ = to_np(params["W"]), to_np(params["b"])
        self.head_weights_ = [to_np(W) for W, _ in params["heads"]]
        self.head_biases_ = [to_np(b) for _, b in params["heads"]]
        self.loss_curve_ = to_np(losses)
        self.n_tasks_ = len(classes)
        self.classes_ = classes[0] if y.ndim == 1 else classes
        return self

    def _fit_jax(self, X, codes, n_classes):
        # The hidden layer and dropout keys do not depend on the number of tasks, so single- and
        # multi-task networks with the same seed start from the same shared layer.
        k_hidden, k_heads, k_drop = jax.random.split(jax.random.PRNGKey(self.random_state or 0), 3)
        d, h = X.shape[1], int(self.hidden_units)
        glorot = jax.nn.initializers.glorot_uniform()
        params = {
            "W": jax.nn.initializers.he_normal()(k_hidden, (d, h), F32),
            "b": jnp.zeros(h, F32),
            "heads": [(glorot(k, (h, c), F32), jnp.zeros(c, F32))
                      for k, c in zip(jax.random.split(k_heads, len(n_classes)), n_classes)],
        }
        codes = [jnp.asarray(c, dtype=jnp.int32) for c in codes]
        return _train(params, jnp.asarray(X, F32), codes, k_drop, jnp.asarray(self.alpha, F32),
                      jnp.asarray(self.learning_rate, F32), jnp.asarray(self.dropout, F32),
                      epochs=int(self.epochs))

    def _proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        hidden = np.maximum(X @ self.hidden_weights_.astype(np.float64) + self.hidden_bias_, 0.0)
        return [softmax(hidden @ W.astype(np.float64) + b, axis=1)
                for W, b in zip(self.head_weights_, self.head_biases_)]

    def predict_proba(self, X):
        """(n, n_classes) for a 1-D fit; a list of such arrays, one per task, for a 2-D fit."""
        proba = self._proba(X)
        return proba if isinstance(self.classes_, list) else proba[0]

    def predict(self, X):
        """Labels: (n,) for a 1-D fit, (n, n_tasks) for a 2-D fit."""
        proba = self._proba(X)
        if not isinstance(self.classes_, list):
            return self.classes_[proba[0].argmax(axis=1)]
        return np.column_stack([c[p.argmax(axis=1)] for c, p in zip(self.classes_, proba)])
