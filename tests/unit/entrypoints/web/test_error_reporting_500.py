"""The API's 500s go to the error tracker (entrypoints/web/errors.py): the exception, the
account and bot of the route, the method and path (never the query string); the client gets
the problem JSON that says nothing about internals. Answers by design (a 503) are not reported."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.testing import TestClient

from entrypoints.web.errors import EXCEPTION_HANDLERS
from entrypoints.web.wiring import build_app
from tests.fakes.error_reporter import RecordingReporter


@get("/api/v1/bots/{account:str}/{bot:str}/boom", sync_to_thread=False)
def boom(account: FromPath[str], bot: FromPath[str]) -> None:
    raise KeyError("a defect")


@get("/busy", sync_to_thread=False)
def busy() -> None:
    raise HTTPException(status_code=503, detail="try later")


def test_a_500_is_reported_with_the_route_and_answered_without_internals(tmp_path):
    reporter = RecordingReporter()
    environ = {"QUANTSHIFT_DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}", "QUANTSHIFT_JWT_SECRET": "j" * 48,
               "QUANTSHIFT_INVITATION_SECRET": "i" * 48, "QUANTSHIFT_VENUE_DIR": str(tmp_path / "venue")}
    real = build_app(environ=environ, errors=reporter)  # the composition root hands the reporter on
    assert real.state["error_reporter"] is reporter
    app = Litestar(route_handlers=[boom, busy], exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
                   state=real.state)
    with TestClient(app) as client:
        answer = client.get("/api/v1/bots/paper/eq/boom?token=abc")
        assert answer.status_code == 500
        assert answer.json()["detail"] == "internal error; the server log has the details"
        assert client.get("/busy").status_code == 503
    [report] = reporter.reports
    assert isinstance(report.exc, KeyError)
    assert (report.tags["account"], report.tags["bot"]) == ("paper", "eq")
    assert report.extra == {"request": "GET /api/v1/bots/paper/eq/boom"}
