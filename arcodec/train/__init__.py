"""Training: data sets, the shared QAT training loop, and the recipes of the shipped models."""
