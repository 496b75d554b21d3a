"""Use cases and the ports they need (typing.Protocol); imports only the domain."""
