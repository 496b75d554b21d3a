"""Shared test configuration.

Its presence (with tests/__init__.py) makes pytest put the project root on sys.path
while collecting, so test modules can import `tests.fakes` at module level.
"""

# The venue fixtures (`fake_alpaca`, `alpaca`; `fake`, `clock`, `venue` for Coinbase), for any
# test that names them: pytest finds them here, so no test module imports a fixture function.
pytest_plugins = ("tests.fakes.alpaca_fixtures", "tests.fakes.coinbase_fixtures")
