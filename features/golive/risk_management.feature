Feature: Risk management
  The limits that protect the account must be written down for this bot (a default is not
  a decision, so live trading accepts none), and shown to work on this very configuration:
  the bot is replayed over a synthetic market crash through the backtest engine, and both
  the drawdown breaker and the daily loss limit must trip, with the figures. The emergency
  halt must have been drilled on this deployment.

  Background:
    Given the bot's risk configuration, replayed over the synthetic crash

  Scenario: Portfolio heat is capped
    Then the portfolio heat cap is set to at most 10 % of equity and enforced for the bot

  Scenario: Positions are sized by the edge or by volatility
    Then Kelly or volatility sizing is configured for the bot

  Scenario: The drawdown breaker is set and trips in a crash
    Then the drawdown breaker is set explicitly and tripped in the crash replay

  Scenario: The daily loss limit is set and trips in a crash
    Then the daily loss limit is set explicitly and tripped in the crash replay

  Scenario: Hard limits on positions and orders
    Then the hard position and order limits are set explicitly

  Scenario: The kill switch has been drilled
    Then the kill switch was drilled on this deployment within the last 7 days, every open order was cancelled and nothing was sent more than 1 second after the halt
