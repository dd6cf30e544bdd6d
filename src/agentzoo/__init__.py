"""agentzoo: build, run, evaluate and compare LLM agents on one small, reproducible runtime."""
__version__ = "0.1.0"
