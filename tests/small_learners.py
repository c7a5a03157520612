"""A small ``learners`` section (as params.yaml's) shared by the unit tests, so they stay fast."""

from __future__ import annotations

LEARNERS = {
    "logistic": {"settings": {"C": 1.0, "max_iter": 1000},
                 "search": {"C": {"low": 1.0e-3, "high": 1.0e+2, "log": True}}},
    "svm": {"settings": {"kernel": "rbf", "C": 1.0, "gamma": "scale", "calibration_folds": 3},
            "search": {"kernel": ["linear", "rbf"], "C": {"low": 1.0e-2, "high": 1.0e+2, "log": True}}},
    "random_forest": {"settings": {"n_estimators": 20, "max_features": "sqrt", "min_samples_leaf": 1},
                      "search": {"max_features": ["sqrt", "log2"], "min_samples_leaf": {"low": 1, "high": 4}}},
    "mlp": {"settings": {"hidden_units": 8, "alpha": 1.0e-3, "dropout": 0.0, "learning_rate": 1.0e-2, "epochs": 50},
            "search": {"alpha": {"low": 1.0e-3, "high": 1.0e+1, "log": True},
                       "dropout": {"low": 0.0, "high": 0.3}}},
}
