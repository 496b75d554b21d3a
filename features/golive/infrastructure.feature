Feature: Infrastructure
  The machinery under the bot must survive the loss of a machine, tell a person when
  something goes wrong, keep its evidence beyond the reach of any rewrite, hold working live
  keys, and be restorable from yesterday's backup.

  Scenario: A standby is ready to take over
    Then the store is Postgres and a standby instance of the bot is heartbeating now

  Scenario: Failover has been drilled
    Then a failover drill passed on this deployment within the last 7 days

  Scenario: Alerts reach a person
    Then an alert channel is configured and a test alert was delivered through it within the last 7 days

  Scenario: The audit trail cannot be rewritten
    Then the store refuses to change or delete entries of the audit trail

  Scenario: The live keys work, read-only
    Then the live keys are set and the live endpoint accepts them: account active, trading not blocked, permissions to read and trade

  Scenario: Yesterday can be restored
    Then a backup was taken within the last 24 hours and verified by restoring it
