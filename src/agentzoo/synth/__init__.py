"""Training data made from runs: the records a recipe's search or pipeline wrote, as files a trainer reads."""
