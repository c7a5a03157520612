"""Evaluation: metrics, statistics, evaluating and comparing methods, perturbations, robustness sweeps, reproducing a reference, plots."""
