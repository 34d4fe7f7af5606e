"""Hyperparameter tuning on Optuna, shaped like SageMaker's: ranges with scaling types, an
objective read from the jobs' logs, Bayesian/Random/Grid/Hyperband strategies, median early
stopping, completion criteria, warm start, and SageMaker's statuses and analytics columns.

Each trial is a local training job (or whatever the tuner's `run_trial` runs); the study
(journal file or database) holds every trial. `tuner.HyperparameterTuner` is the entry point;
the README's tuning section lists the modules, whose imports point down from it.
"""
