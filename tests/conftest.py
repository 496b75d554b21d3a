"""Shared test configuration.

Its presence (with tests/__init__.py) makes pytest put the project root on sys.path
while collecting, so test modules can import `tests.fakes` at module level.
"""
