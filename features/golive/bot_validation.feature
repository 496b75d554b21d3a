Feature: Bot validation
  Before a bot trades real money it must have proved itself on paper, in real time, with
  exactly the configuration it will go live with. Its record is kept per validation epoch:
  any change to what decides how it trades (a parameter, a symbol, a stop, a risk limit, the
  strategy's code, the QuantShift version) starts a new epoch from zero. Accelerated
  `paper --days N` sessions never count. Trading days are NYSE sessions for an equity bot
  and UTC days for a crypto bot.

  The figures below are the defaults of the [golive] settings; the check prints, beside each
  item, the requirement it applied and the figure it measured.

  Background:
    Given the bot's paper record in its current validation epoch

  Scenario: Thirty trading days on paper
    Then the bot has paper traded for at least 30 trading days in its current epoch

  Scenario: Enough round trips to judge it by
    Then the bot has opened and closed at least 10 round trips in the epoch

  Scenario: It wins often enough
    Then at least 45 % of those round trips were won

  Scenario: It never fell too far
    Then the bot's equity never fell 20 % or more below its peak in the epoch

  Scenario: Nothing critical happened in the period
    Then no critical event happened in the epoch: no crash, no unexplained reconciliation mismatch, no throttle halt, no strategy exception and no store outage that degraded the bot
