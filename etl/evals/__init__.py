"""Evaluations: each scores one stage against a gold file given by path and prints precision, recall,
F1 or accuracy. `newswatch eval …` runs them; tests run them against the shared sets with targets."""
