"""The ChannelSender port on Apprise: one library for e-mail, Telegram, Slack, Discord, ntfy,
webhooks and a hundred more services, each named by a URL (https://appriseit.com/services/).

Each send makes its own Apprise plugin from the URL (parsing is fast, and no state is shared
between channels or threads) and sends once: no Apprise retry (`?retry=` is ignored), and the
connect and read timeouts (Apprise's `cto`/`rto` URL arguments, 15 s by default for e-mail)
are capped at `timeout_seconds`, so one dead channel cannot hold an alert for long.
"""

from __future__ import annotations

import logging

import apprise

from adapters.apprise.logs import captured, isolate_apprise_logger, reason, scrub, secrets_of
from application.alerting.ports import DeliveryFailed, UrlCheck
from application.ports import AlertLevel
from domain.errors import ConfigurationError

DEFAULT_TIMEOUT_SECONDS = 4.0
_TYPES = {AlertLevel.INFO: apprise.NotifyType.INFO, AlertLevel.WARNING: apprise.NotifyType.WARNING,
          AlertLevel.CRITICAL: apprise.NotifyType.FAILURE}
_EXAMPLES = "mailto://, tgram://, slack://, discord://, ntfy://, json://"
_WHERE = "https://appriseit.com/services/"


class AppriseSender:
    def __init__(self, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not timeout_seconds > 0:
            raise ConfigurationError(f"the alert channels' timeout must be positive, got {timeout_seconds}")
        self._timeout = float(timeout_seconds)
        isolate_apprise_logger()

    def check(self, url: str) -> UrlCheck:
        plugin, _ = self._plugin(url)
        return UrlCheck(service=plugin.service_name, shown=shown(plugin))

    def send(self, *, url: str, title: str, body: str, level: AlertLevel) -> None:
        plugin, secrets = self._plugin(url)
        service = str(plugin.service_name)
        with captured() as records:
            try:
                delivered = plugin.notify(title=title, body=body, notify_type=_TYPES[level],
                                          body_format=apprise.NotifyFormat.TEXT)
            except Exception as exc:  # noqa: BLE001 - a plugin's own bug: its message may quote the URL
                raise DeliveryFailed(f"{service}: failed ({type(exc).__name__})", service=service) from None
        if not delivered:
            why = reason(records, secrets=secrets) or "the service did not take it"
            raise DeliveryFailed(f"{service}: {why}", service=service)

    def _plugin(self, url: str) -> tuple[apprise.plugins.NotifyBase, list[str]]:
        with captured() as records:
            plugin = apprise.Apprise.instantiate(url, asset=apprise.AppriseAsset(secure_logging=True))
        if plugin is None:
            raise ConfigurationError(_refusal(url, records))
        # Capped, never raised: a URL asking for a shorter timeout keeps it.
        plugin.socket_connect_timeout = min(float(plugin.socket_connect_timeout), self._timeout)
        plugin.socket_read_timeout = min(float(plugin.socket_read_timeout), self._timeout)
        return plugin, secrets_of(url, shown=shown(plugin))


def shown(plugin: apprise.plugins.NotifyBase) -> str:
    """The URL as it may be shown: its scheme, and its host when the service has one (a server
    name, not a token: Telegram's "host" is the bot token), e.g. "json://127.0.0.1:8123/…"."""
    scheme = plugin.url(privacy=True).split("://", 1)[0]
    host = getattr(plugin, "host", None)
    if host and any("{host}" in template for template in getattr(plugin, "templates", ())):
        host = f"[{host}]" if ":" in host else host
        port = getattr(plugin, "port", None)
        return f"{scheme}://{host}{f':{port}' if port else ''}/…"
    return f"{scheme}://…"


def _refusal(url: str, records: list[logging.LogRecord]) -> str:
    scheme, separator, _ = url.strip().partition("://")
    if not separator or not scheme.isalnum():
        return f"url: not an Apprise URL (SERVICE://...; e.g. {_EXAMPLES}; see {_WHERE})"
    manager = apprise.NotificationManager()
    if scheme.lower() not in manager and scheme.lower() not in ("http", "https"):
        return f"url: Apprise knows no service {scheme.lower()}:// (e.g. {_EXAMPLES}; see {_WHERE})"
    if scheme.lower() in ("http", "https"):
        return (f"url: {scheme.lower()}:// is not a service Apprise recognises (a Discord, Slack, ... webhook address "
                f"is; for any other web server use json://host/path or jsons://; see {_WHERE})")
    plugin = manager[scheme.lower()]
    # Apprise's reason ("An invalid Discord Webhook Token (...) was specified"), scrubbed of every
    # piece of the URL but its scheme; its lines quoting the URL itself are left out.
    said = [r.getMessage() for r in records if r.levelno >= logging.WARNING and "URL" not in r.getMessage()]
    why = f": {scrub(said[-1], secrets_of(url, shown=scheme + '://'))}" if said else ""
    return (f"url: not a valid {plugin.service_name} URL{why} (the format: "
            f"{plugin.setup_url or _WHERE})")
