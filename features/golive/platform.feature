Feature: Platform
  The admin platform is how people watch the bot and stop it. It must answer where people
  open it, show the bot alive, and obey a stop and a start of the bot's paper run, exactly
  as an operator would use it in an emergency. The check logs in as the operator named by
  QUANTSHIFT_GOLIVE_EMAIL with the password in QUANTSHIFT_GOLIVE_PASSWORD.

  Scenario: The admin platform answers at its public address
    Then `quantshift serve` answers at the configured public URL

  Scenario: The bot is visible there, alive
    Then the bot is listed there with a fresh heartbeat

  Scenario: Operators can stop and start the bot through the API
    Then the bot's paper run stops and starts again through the API
