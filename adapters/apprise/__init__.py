"""Alert channels on Apprise (the ChannelSender port)."""

from adapters.apprise.sender import AppriseSender

__all__ = ["AppriseSender"]
