"""`quantshift golive check|approve`: run the go-live checklist (features/golive) against this
deployment and record the result; an admin signs off the certificate a passing check issued."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from application.golive.certificates import ApprovalRefused, approve_certificate
from application.records import Role
from domain.errors import ConfigurationError
from entrypoints.cli.common import ConfigOption, JsonOption, cli_errors, reading_container
from entrypoints.cli.golive_fidelity import fidelity_command
from entrypoints.cli.output import print_json, print_table
from entrypoints.golive_check import SECTIONS, CheckRun, record_run, run_checklist
from entrypoints.golive_deployment import build_deployment
from entrypoints.golive_fingerprint import bot_fingerprint
from entrypoints.validation_epochs import installed_version

EXIT_FAILED = 1

golive_app = typer.Typer(help="The go-live gate: run the checklist against this deployment; approve its certificate.",
                         no_args_is_help=True)

BotOption = Annotated[str, typer.Option("--bot", help="The bot's name (as configured).")]


@golive_app.command("check")
def check_command(
    bot: BotOption,
    broker: Annotated[str | None, typer.Option("--broker", help="alpaca | coinbase: the venue it would go live on (default: its asset class's).")] = None,
    as_email: Annotated[str | None, typer.Option("--as", help="Who runs the check (default: QUANTSHIFT_GOLIVE_EMAIL).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show pytest-bdd's own report of the scenarios.")] = False,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run the go-live checklist against this deployment; print every item with its figure.

    Every item of features/golive runs against the configured store, config, venue and admin
    platform. Records the check, and a certificate when every item passed. Exit 0 only when
    all passed, 1 otherwise, 2 on bad input.

    The Platform items log in as QUANTSHIFT_GOLIVE_EMAIL with QUANTSHIFT_GOLIVE_PASSWORD."""
    with cli_errors():
        container = reading_container(config)
        deployment = build_deployment(container.settings(), bot=bot, broker=broker, environ=os.environ,
                                      version=installed_version(), actor=as_email, store=container.store())
        try:
            run = run_checklist(deployment, verbose=verbose)
        finally:
            deployment.close()
        certificate = record_run(deployment, run)
    if json_output:
        print_json({"bot": bot, "fingerprint": deployment.fingerprint.digest, "broker": deployment.broker,
                    "checked_by": deployment.actor, "passed": run.passed, "seconds": round(run.seconds, 3),
                    "items": [i.to_json() for i in run.items],
                    "certificate": certificate.to_json() if certificate else None})
    else:
        _print_run(run, bot=bot, fingerprint=deployment.fingerprint.short)
        if certificate is not None:
            print(f"certificate {certificate.certificate_id} issued, valid until "
                  f"{certificate.valid_until:%Y-%m-%d %H:%M} UTC; an admin approves it: "
                  f"quantshift golive approve --bot {bot}")
    if not run.passed:
        raise typer.Exit(EXIT_FAILED)


def _print_run(run: CheckRun, *, bot: str, fingerprint: str) -> None:
    for section in [*SECTIONS, *sorted({i.section for i in run.items} - set(SECTIONS))]:
        # escape: "[risk]" and "[web] public_url" are text, not rich markup.
        rows = [[escape(i.item), "PASS" if i.passed else "FAIL", escape(i.figure),
                 escape(i.requirement if i.passed else i.detail)] for i in run.items if i.section == section]
        if rows:
            print_table(section, ["item", "result", "figure", "requirement / what to do"], rows)
    passed = sum(i.passed for i in run.items)
    print(f"go-live check of {bot} (fingerprint {fingerprint}): {passed}/{len(run.items)} items passed "
          f"in {run.seconds:.1f} s: {'PASS' if run.passed else 'FAIL'}")


@golive_app.command("approve")
def approve_command(
    bot: BotOption,
    as_email: Annotated[str | None, typer.Option("--as", help="The approving admin's e-mail (default: the store's only admin).")] = None,
    config: ConfigOption = None,
    json_output: JsonOption = False,
) -> None:
    """Sign off the bot's latest certificate as an admin.

    Refused (exit 1) when it has expired, is for another configuration, or, where the store
    has two or more admins, when the approver ran the check."""
    with cli_errors():
        container = reading_container(config)
        settings = container.settings()
        chosen = next((b for b in settings.bots if b.name == bot), None)
        if chosen is None:
            raise ConfigurationError(f"--bot {bot!r}: no such bot; the bots are "
                                     f"{', '.join(b.name for b in settings.bots)}")
        digest = bot_fingerprint(settings, chosen, version=installed_version()).digest
        store, now = container.store(), container.clock().now()
        with store() as uow:
            approver = as_email or _only_admin(uow)
            try:
                certificate = approve_certificate(uow, bot=bot, approver=approver, now=now, fingerprint=digest)
            except ApprovalRefused as exc:
                print(f"error: {exc}", file=sys.stderr)
                raise typer.Exit(EXIT_FAILED) from None
            uow.commit()
    if json_output:
        print_json(certificate.to_json())
    else:
        print(f"certificate {certificate.certificate_id} of {bot} approved by {certificate.approved_by}; "
              f"valid until {certificate.valid_until:%Y-%m-%d %H:%M} UTC")


def _only_admin(uow) -> str:  # noqa: ANN001 - a unit of work
    admins = [u.email for u in uow.users.list() if u.role is Role.ADMIN and not u.disabled]
    if len(admins) != 1:
        raise ConfigurationError(f"--as EMAIL: name the approving admin (the store has {len(admins)} admins"
                                 + (f": {', '.join(sorted(admins))})" if admins else ")"))
    return admins[0]


# Staged deployment's report (entrypoints/cli/golive_fidelity.py).
golive_app.command("fidelity")(fidelity_command)
