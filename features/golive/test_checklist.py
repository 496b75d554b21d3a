"""The go-live checklist's scenarios, in the order of the product plan's sections (pytest runs
them in this order: Bot validation, Risk management, Infrastructure, Platform)."""

from pytest_bdd import scenarios

scenarios("bot_validation.feature", "risk_management.feature", "infrastructure.feature", "platform.feature")
