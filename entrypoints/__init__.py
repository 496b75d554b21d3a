"""Entry points: the CLI and the bot runner. They build the one container."""
