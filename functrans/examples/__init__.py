"""Example programs: ``python -m functrans.examples.mnist --help``."""
