"""Every handler of the admin API and the dashboard is declared the way Litestar 3 reads it:
path and query parameters, request bodies and injected dependencies are marked explicitly
(FromPath, FromQuery, JSONBody, NamedDependency, SkipValidation), so building the app and its
OpenAPI schema warns about nothing. Litestar checks the declarations when the app is built,
which is what this test does, on the real composition root."""

from __future__ import annotations

import warnings

from entrypoints.web.wiring import build_app


def test_building_the_app_and_its_schema_warns_about_nothing(tmp_path):
    environ = {"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", "QUANTSHIFT_JWT_SECRET": "j" * 48,
               "QUANTSHIFT_INVITATION_SECRET": "i" * 48, "QUANTSHIFT_VENUE_DIR": str(tmp_path / "venue")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = build_app(environ=environ)
        schema = app.openapi_schema.to_schema()
    assert "/api/v1/bots/{account}/{bot}/halt" in schema["paths"]
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
