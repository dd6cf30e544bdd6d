"""Environments: tasks, the actions an agent may take on them, and their scorers."""
