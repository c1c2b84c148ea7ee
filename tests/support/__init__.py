"""Helpers more than one folder of tests uses."""
