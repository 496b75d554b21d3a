"""`golive check`'s engine: the feature files of features/golive run by pytest-bdd, in this process,
against one deployment; every checklist item they computed comes back, then the check (and,
when all passed, the certificate) is recorded.

The feature files are the checklist a person reads. Their steps (features/golive/conftest.py)
call the application's item functions with the `deployment` fixture this module's plugin
provides, record each ItemResult here, and assert it passed. Every item is its own scenario,
so a failure never hides the items after it; a step that raised instead of answering is
reported as a failed item of its scenario, never lost.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from application.golive.certificates import Certificate, issue_certificate, record_check
from application.golive.checklist import ItemResult
from application.golive.fingerprint import BotFingerprint
from application.golive.infrastructure import AuditTrailGuard
from application.golive.platform import AdminApi
from application.golive.ports import TradingCalendar
from application.ports import Clock
from domain.analytics.golive import GoLiveCriteria
from entrypoints.settings import BotSettings, Settings

SECTIONS = ("Bot validation", "Risk management", "Infrastructure", "Platform")
FEATURES = ("bot_validation.feature", "risk_management.feature", "infrastructure.feature", "platform.feature")


def features_directory() -> Path:
    """features/golive, from the repository (editable install) or from site-packages (`pip
    install .` ships it as package data of the `features.golive` package)."""
    import features.golive

    return Path(features.golive.__file__).resolve().parent


@attrs.define(kw_only=True)
class Deployment:
    """What the checklist runs against: the real one in `golive check`, a prepared one in CI.
    The callables are the items that need the entrypoints (a venue client, the risk replay)."""

    settings: Settings
    store: Any  # SqliteStore | PostgresStore: a UnitOfWorkFactory with unit_of_work(read_only=...)
    engine: str  # "sqlite" or "postgres"
    clock: Clock
    bot: BotSettings
    fingerprint: BotFingerprint
    broker: str  # the venue it would go live on: "alpaca" or "coinbase"
    calendar: TradingCalendar
    criteria: GoLiveCriteria
    audit_guard: AuditTrailGuard
    risk_items: Callable[[], list[ItemResult]]
    live_credentials: Callable[[], ItemResult]
    admin_api: AdminApi | None = None
    admin_api_problem: str = ""  # why there is no admin_api (no public URL, no operator login)
    actor: str = ""  # who runs the check (an operator's e-mail where known)
    on_close: Sequence[Callable[[], None]] = ()

    def close(self) -> None:
        for close in self.on_close:
            close()


class Checklist:
    """The items one run computed, in the order they were computed (one per section and name:
    an item computed again replaces its earlier result)."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str], ItemResult] = {}
        self.by_test: dict[str, list[ItemResult]] = {}
        self.current_test = ""
        self._computed: dict[str, list[ItemResult]] = {}

    def record(self, item: ItemResult) -> ItemResult:
        self.results[(item.section, item.item)] = item
        self.by_test.setdefault(self.current_test, []).append(item)
        return item

    def items(self, key: str, compute: Callable[[], list[ItemResult]]) -> list[ItemResult]:
        """The items of `key` (one section's shared computation, such as the validation status),
        computed once per run and recorded as soon as they are known."""
        if key not in self._computed:
            self._computed[key] = list(compute())
        for item in self._computed[key]:
            self.record(item)
        return self._computed[key]

    def sorted(self) -> list[ItemResult]:
        order = {s: n for n, s in enumerate(SECTIONS)}
        return sorted(self.results.values(), key=lambda i: order.get(i.section, len(SECTIONS)))


def expect(items: Sequence[ItemResult] | ItemResult, name: str | None = None) -> ItemResult:
    """The item named `name` of `items` (or the one item), asserted passed; the assertion says
    the figure and what to do."""
    if isinstance(items, ItemResult):
        item = items
    else:
        found = [i for i in items if i.item == name]
        assert found, f"no checklist item {name!r} among {[i.item for i in items]}"
        item = found[0]
    assert item.passed, f"{item.section} / {item.item}: {item.figure}" + (f" ({item.detail})" if item.detail else "")
    return item


class GatePlugin:
    """Handed to pytest.main: provides the `deployment` and `checklist` fixtures and turns a
    scenario that raised before recording anything into a failed item."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.checklist = Checklist()
        self.collected = 0
        self._names: dict[str, tuple[str, str]] = {}

    def pytest_configure(self, config: Any) -> None:
        import pytest

        plugin = self

        class Fixtures:
            @pytest.fixture(name="deployment")
            def deployment_fixture(self) -> Deployment:
                return plugin.deployment

            @pytest.fixture(name="checklist")
            def checklist_fixture(self, request: Any) -> Checklist:
                plugin.checklist.current_test = request.node.nodeid
                return plugin.checklist

        config.pluginmanager.register(Fixtures(), "quantshift-golive-fixtures")

    def pytest_bdd_step_error(self, request: Any, feature: Any, scenario: Any, **_: Any) -> None:
        self._names[request.node.nodeid] = (feature.name, scenario.name)

    def pytest_collection_finish(self, session: Any) -> None:
        self.collected = len(session.items)

    def pytest_runtest_logreport(self, report: Any) -> None:
        if not report.failed or self.checklist.by_test.get(report.nodeid):
            return
        # The step raised (a store outage, a bug) before it could record an item: say so.
        feature, scenario = self._names.get(report.nodeid) or _names(report)
        message = str(getattr(report.longrepr, "reprcrash", None) and report.longrepr.reprcrash.message
                      or report.longreprtext.strip().splitlines()[-1:] or "failed")
        self.checklist.by_test.setdefault(report.nodeid, []).append(self.checklist.record(ItemResult(
            section=feature, item=scenario, requirement="the scenario runs to its end", figure=f"error: {message}",
            passed=False, detail="the check could not measure this item; fix the error and run it again")))


def _names(report: Any) -> tuple[str, str]:
    """A failure outside a step (a fixture): named after the test pytest-bdd made of the scenario."""
    test = report.nodeid.rsplit("::", 1)[-1]
    return Path(report.nodeid.split("::", 1)[0]).stem, test.removeprefix("test_").replace("_", " ")


@attrs.frozen(kw_only=True)
class CheckRun:
    items: tuple[ItemResult, ...]
    seconds: float
    output: str  # pytest's own report (shown with --verbose)

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(i.passed for i in self.items)


def run_checklist(deployment: Deployment, *, verbose: bool = False, directory: Path | None = None) -> CheckRun:
    """Run the feature files against `deployment` in this process; pytest's report goes to
    `output` (and to the terminal with `verbose`)."""
    import pytest

    where = directory or features_directory()
    plugin = GatePlugin(deployment)
    args = [str(where), "-c", str(where / "pytest.ini"), "--rootdir", str(where), "--import-mode=importlib",
            # Only what the checklist needs: no other installed plugin is loaded (nor slows it down).
            "--disable-plugin-autoload", "-p", "pytest_bdd.plugin", "-p", "no:cacheprovider",
            "-p", "no:randomly", "--no-header", "-q" if not verbose else "-v"]
    started = time.perf_counter()
    output = io.StringIO()
    with _quiet(output, verbose=verbose):
        pytest.main(args, plugins=[plugin])
    seconds = time.perf_counter() - started
    items = plugin.checklist.sorted()
    if plugin.collected == 0:
        items.append(ItemResult(section="Checklist", item="feature files", requirement="the feature files run",
                                figure=f"no scenario collected from {where}", passed=False,
                                detail="the installation lacks features/golive: reinstall QuantShift"))
    return CheckRun(items=tuple(items), seconds=seconds, output=output.getvalue())


@contextlib.contextmanager
def _quiet(sink: io.StringIO, *, verbose: bool) -> Iterator[None]:
    if verbose:
        yield
        return
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def record_run(deployment: Deployment, run: CheckRun) -> Certificate | None:
    """The "check" entry, and when every item passed the "certificate" entry, in one transaction."""
    now = deployment.clock.now()
    digest = deployment.fingerprint.digest
    with deployment.store() as uow:
        passed = record_check(uow, bot=deployment.bot.name, fingerprint=digest, items=run.items,
                              actor=deployment.actor, broker=deployment.broker, now=now)
        certificate = None
        if passed:
            from datetime import timedelta

            certificate = issue_certificate(uow, bot=deployment.bot.name, fingerprint=digest, items=run.items,
                                            checked_by=deployment.actor, broker=deployment.broker, now=now,
                                            valid_for=timedelta(days=deployment.settings.golive.certificate_days))
        uow.commit()
    return certificate
