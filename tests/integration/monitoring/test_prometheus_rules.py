"""deploy/prometheus/ checked by Debian's promtool: the rules and the example configuration are
valid, the rules' unit tests (rules_test.yml) pass, and those tests make every rule both fire
and stay silent, so no rule ships untested."""

from __future__ import annotations

import yaml

from tests.support.prometheus import DEPLOY, RULES, promtool, require_prometheus

PROMETHEUS_DIR = DEPLOY / "prometheus"


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_the_rules_are_valid():
    require_prometheus()
    assert f"SUCCESS: {len(_rules())} rules found" in promtool("check", "rules", "rules.yml", cwd=PROMETHEUS_DIR)


def test_the_example_configuration_is_valid_and_loads_the_rules():
    require_prometheus()
    out = promtool("check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert "SUCCESS: 1 rule files found" in out and "prometheus.yml is valid" in out


def test_the_rules_unit_tests_pass():
    require_prometheus()
    assert "SUCCESS" in promtool("test", "rules", "rules_test.yml", cwd=PROMETHEUS_DIR)


def test_every_rule_is_tested_firing_and_silent_and_says_what_to_do():
    rules = _rules()
    cases = [case for test in yaml.safe_load((PROMETHEUS_DIR / "rules_test.yml").read_text())["tests"]
             for case in test["alert_rule_test"]]
    fired = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "two rules share a name"
    assert sorted(set(names) - fired) == [], "rules never tested firing"
    assert sorted(set(names) - silent) == [], "rules never tested staying silent"
    assert sorted((fired | silent) - set(names)) == [], "tests of rules that do not exist"
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
