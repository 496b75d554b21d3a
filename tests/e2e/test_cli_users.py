"""`quantshift users` as an operator runs it: the password from a prompt or standard input,
never an argument; duplicates and weak passwords refused by name; the list shows no hashes."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import QUANTSHIFT

pytestmark = pytest.mark.e2e


def run_with_input(cli, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QUANTSHIFT, *args], input=text, env=cli.env, capture_output=True, text=True, timeout=60)


def test_users_are_created_from_stdin_or_a_prompt_and_listed_without_secrets(cli):
    made = run_with_input(cli, "correct horse battery\n", "users", "create", "--email", "Admin@Example.com",
                          "--role", "admin", "--password-stdin", "--json")
    assert made.returncode == 0, made.stderr
    prompted = run_with_input(cli, "correct horse battery\ncorrect horse battery\n", "users", "create",
                              "--email", "ops@example.com", "--role", "operator")
    assert prompted.returncode == 0 and "created ops@example.com (operator)" in prompted.stdout
    listed = cli.json("users", "list")
    assert [(u["email"], u["role"]) for u in listed] == [("admin@example.com", "admin"), ("ops@example.com", "operator")]
    assert "argon2" not in cli.run("users", "list", "--json").stdout
    [(stored,)] = cli.query("SELECT password_hash FROM users WHERE email = 'admin@example.com'")
    assert stored.startswith("$argon2id$")


@pytest.mark.parametrize(("email", "password", "role", "message"), [
    ("dup@example.com", "correct horse battery", "viewer", "exists already"),
    ("weak@example.com", "short", "viewer", "password:"),
    ("no-at-sign", "correct horse battery", "viewer", "email"),
    ("x@example.com", "correct horse battery", "superuser", "--role"),
])
def test_bad_users_are_refused_by_name(cli, email, password, role, message):
    made = cli.invoke("users", "create", "--email", "dup@example.com", "--password-stdin",
                      input="correct horse battery\n")
    assert made.returncode == 0, made.stderr
    result = cli.invoke("users", "create", "--email", email, "--role", role, "--password-stdin", input=password + "\n")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    help_text = cli.invoke("users", "create", "--help").stdout
    assert "--password " not in help_text  # no way to pass a password as an argument
