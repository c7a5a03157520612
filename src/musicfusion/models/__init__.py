"""Models: learners, the network, fusion estimators, building them from params.yaml, tuning and training."""
