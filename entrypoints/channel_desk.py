"""The alert channels' admin in the composition root: what `quantshift alerts channels` and the
API (/api/v1/settings/alert-channels) and the dashboard's settings page call, on the container's
store, clock, channel sender (Apprise, secrets resolved at send time) and cached channel source.

A change made here drops this process's cached channels at once (`forget`), so the process's
next alert uses it; other processes see it within the source's ttl (5 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

from application.alerting.alert import Alert
from application.alerting.channel_admin import (
    AddChannel,
    ChannelView,
    RemoveChannel,
    add_channel,
    list_channels,
    remove_channel,
    send_channel_test,
)
from application.alerting.channel_store import SecretResolvingSender, StoredChannels
from application.alerting.channels import Delivery
from application.ports import AlertLevel, Clock, UnitOfWork
from entrypoints.alert_setup import dashboard_link

if TYPE_CHECKING:
    from entrypoints.container import Container


class _Store(Protocol):  # the two stores, as far as this desk uses them
    def __call__(self) -> UnitOfWork: ...

    def unit_of_work(self, *, read_only: bool = False) -> UnitOfWork: ...


@attrs.frozen(kw_only=True)
class ChannelDesk:
    store: _Store
    clock: Clock
    sender: SecretResolvingSender
    source: StoredChannels | None = None  # this process's cached channels, if it alerts
    public_url: str = ""  # [web] public_url: the dashboard link in a test alert

    def add(self, *, name: str, url: str, min_level: str = AlertLevel.WARNING.value, quiet_hours: str = "",
            timezone: str = "UTC", actor: str) -> ChannelView:
        added = add_channel(AddChannel(name=name, url=url, min_level=min_level, quiet_hours=quiet_hours,
                                       timezone=timezone, actor=actor),
                            uow_factory=self.store, clock=self.clock, sender=self.sender, box=self.sender.box,
                            environ=self.sender.environ)
        self._changed()
        return added

    def remove(self, *, name: str, actor: str) -> ChannelView:
        removed = remove_channel(RemoveChannel(name=name, actor=actor), uow_factory=self.store, clock=self.clock)
        self._changed()
        return removed

    def list(self) -> list[ChannelView]:
        with self.store.unit_of_work(read_only=True) as uow:
            return list_channels(uow)

    def test(self, *, name: str | None, actor: str, source: str) -> tuple[Delivery, ...]:
        return send_channel_test(name=name, actor=actor, uow_factory=self.store, clock=self.clock, sender=self.sender,
                                 link=self._link(), source=source)

    def _link(self) -> str:
        return dashboard_link(Alert(key="alert_test", level=AlertLevel.INFO, title="", body=""),
                              public_url=self.public_url)

    def _changed(self) -> None:
        if self.source is not None:
            self.source.forget()


def channel_desk(container: Container) -> ChannelDesk:
    return ChannelDesk(store=container.store(), clock=container.clock(), sender=container.channel_sender(),
                       source=container.alert_channels(), public_url=container.settings().web.public_url)
