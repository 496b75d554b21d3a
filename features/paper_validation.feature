Feature: Paper-trading validation before going live
  A bot may go live only when its paper-trading record passes every go-live criterion:
  at least 30 trading days, at least 10 round trips, a win rate of at least 45 %,
  a maximum drawdown below 20 % and no critical errors.

  Scenario: A 30-day paper session on embedded defaults gives a go/no-go report
    Given a fresh machine with no keys, no network and no server
    When I run a paper session of 30 trading days with seed 11
    Then every order, fill, round trip and heartbeat of the session is stored
    And the report shows each go-live criterion with its value and result
    And the verdict is GO only if every criterion passes

  Scenario: A session shorter than 30 trading days is never enough
    Given a fresh machine with no keys, no network and no server
    When I run a paper session of 5 trading days with seed 11
    Then the criterion "trading_days" fails
    And the verdict is NO-GO

  Scenario: The emergency halt holds across sessions until resumed
    Given a fresh machine with no keys, no network and no server
    When the operator halts all trading because "drill"
    And I run a paper session of 3 trading days with seed 11
    Then no order was sent
    When the operator resumes trading
    And I run a paper session of 3 trading days with seed 11
    Then orders were sent
