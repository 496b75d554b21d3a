"""The dashboard as app.py mounts it: its router under /dashboard (left out of the OpenAPI
document: it is HTML, not the API), the static files router, and the template config."""

from __future__ import annotations

import attrs
from litestar import Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.template.config import TemplateConfig

from entrypoints.web.dashboard.alerts import AlertsPagesController
from entrypoints.web.dashboard.assets import StaticUrls, static_router, template_environment
from entrypoints.web.dashboard.control import ControlController
from entrypoints.web.dashboard.errors import DASHBOARD_ERRORS
from entrypoints.web.dashboard.events import EventsController
from entrypoints.web.dashboard.golive import GoLivePagesController
from entrypoints.web.dashboard.login import LoginController
from entrypoints.web.dashboard.notifications import NotificationPagesController
from entrypoints.web.dashboard.pages import PagesController
from entrypoints.web.dashboard.session import DashboardSettings, check_csrf, provide_viewer
from entrypoints.web.security import DASHBOARD_PATH


@attrs.frozen(kw_only=True)
class Dashboard:
    routers: tuple[Router, ...]
    template_config: TemplateConfig


def build_dashboard(*, token_lifetime_seconds: int, secure_cookies: bool = False,
                    trust_proxy: bool = False) -> Dashboard:
    templates = template_environment(static=StaticUrls())
    # An open page renews its cookie well within the token's lifetime (pages.keepalive).
    templates.globals["session_keepalive_seconds"] = max(10, token_lifetime_seconds // 3)
    settings = DashboardSettings(templates=templates, secure_cookies=secure_cookies, trust_proxy=trust_proxy)
    pages = Router(
        path=DASHBOARD_PATH,
        route_handlers=[PagesController, LoginController, ControlController, EventsController, AlertsPagesController,
                        GoLivePagesController, NotificationPagesController],
        dependencies={"viewer": Provide(provide_viewer),
                      "dashboard": Provide(lambda: settings, use_cache=True, sync_to_thread=False)},
        before_request=check_csrf,
        exception_handlers=DASHBOARD_ERRORS,  # type: ignore[arg-type]
        include_in_schema=False,
    )
    return Dashboard(routers=(pages, static_router()),
                     template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(templates)))
