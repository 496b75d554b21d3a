"""The admin API: a Litestar app built by `create_app` (nothing happens at import)."""
