#!/usr/bin/env python3
"""Structural checks of the monitoring files that promtool cannot make.

    tests/deploy/check_monitoring.py [--repo DIR]

promtool checks that the rules parse and that their tests pass, but a misspelt metric name is valid
PromQL that silently matches nothing. This script checks, with the standard library only:

- every PromQL expression in deploy/prometheus/*_rules.yml and deploy/grafana/recommender-dashboard.json
  reads only metrics recommender-server exports (KNOWN_METRICS) or series the recording rules record,
  and label matchers on exported metrics name labels those metrics have;
- the dashboard is valid JSON with unique panel ids, the Prometheus datasource variable on every query,
  and no undefined template variable;
- every promtool test file evaluates all recording groups before the alert groups (group_eval_order);
- every alert has a severity, a summary, a description and a runbook_url whose anchor is a heading of
  docs/operations.md; every alert is tested firing and not firing in deploy/prometheus/tests/;
- every recording rule is tested or used by a tested alert, and defined in docs/kpis.md.

Exit status 0 when everything holds, 1 with one line per problem on stderr otherwise.
"""

import argparse
import json
import pathlib
import re
import sys

# What recommender-server exports (docs/api.md#metrics-get-metrics), with each metric's labels. Histograms
# are listed by their base name. Prometheus adds job and instance when it scrapes.
KNOWN_METRICS = {
    "recommender_requests_total": {"method", "code", "model_version", "variant", "protocol"},
    "recommender_request_duration_seconds": {"method", "model_version", "variant", "protocol", "le"},
    "recommender_recommendations_total": {"product", "model_version", "variant"},
    "recommender_model_info": {"version", "variant"},
    "recommender_model_customers": set(),
    "recommender_model_loaded_timestamp_seconds": set(),
    "recommender_model_load_failures_total": set(),
    "recommender_canary_auto_rollbacks_total": set(),
    "recommender_shadow_requests_total": {"model_version"},
    "recommender_shadow_overlap_ratio": {"model_version", "le"},
    "recommender_feedback_events_total": {"event", "model_version", "variant"},
    "recommender_feedback_product_events_total": {"event", "product"},
    "recommender_cold_start_requests_total": {"model_version", "variant", "strategy"},
    "recommender_cluster_psi": {"model_version"},
    "recommender_feature_psi": {"model_version", "feature"},
    "recommender_cluster_reassigned_ratio": set(),
    "recommender_model_trained_timestamp_seconds": {"model_version"},
    "recommender_event_log_appends_total": {"kind"},
    "recommender_event_log_fsync_seconds": {"le"},
    "recommender_event_log_errors_total": set(),
    "recommender_auth_refusals_total": {"reason", "role"},
    "recommender_auth_token_reloads_total": {"result"},
    "recommender_auth_token_file_refused": set(),
    "recommender_tls_certificate_expiry_timestamp_seconds": set(),
    "recommender_auth_tokens": set(),
    "recommender_requests_shed_total": set(),
    "recommender_cpu_utilisation": set(),
    "recommender_cpu_work_share": set(),
    "recommender_model_files_changed_total": set(),
    "recommender_protobuf_log_lines_total": set(),
    "recommender_connections_refused_total": {"port"},
    "recommender_model_backtest_map": {"model_version"},
    "recommender_model_realised_map": {"model_version"},
    "recommender_model_realised_popularity_map": {"model_version"},
    "recommender_feedback_refused_total": {"reason"},
    "recommender_routing_problems": set(),
    "recommender_cpu_shed_share": set(),
    "recommender_in_flight_requests": set(),
    "up": set(),
}
HISTOGRAMS = {"recommender_request_duration_seconds", "recommender_shadow_overlap_ratio",
              "recommender_event_log_fsync_seconds"}
SCRAPE_LABELS = {"job", "instance"}
PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                   "group_left", "group_right", "inf", "nan", "atan2"}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s", "__all"}
SEVERITIES = {"critical", "warning"}


def exported_series():
    """Series names a scrape of recommender-server can produce, with their labels."""
    series = {}
    for name, labels in KNOWN_METRICS.items():
        labels = labels | SCRAPE_LABELS
        if name in HISTOGRAMS:
            series[name + "_bucket"] = labels
            series[name + "_sum"] = labels - {"le"}
            series[name + "_count"] = labels - {"le"}
        else:
            series[name] = labels
    return series


def parse_rules(path):
    """The rules of a Prometheus rules file written in this repository's layout, as dicts with kind
    ("record" or "alert"), name, line and the keys expr, for, severity, summary, description and
    runbook_url when present. A line-based reader (no YAML library in the standard library): a rule
    starts at "- record:" or "- alert:", block scalars (| and >-) are folded."""
    rules = []
    lines = path.read_text().splitlines()
    key_pattern = re.compile(r"^(\s*)(expr|for|severity|summary|description|runbook_url):\s*(.*)$")
    i = 0
    while i < len(lines):
        line = lines[i]
        start = re.match(r"^\s*- (record|alert):\s*(\S+)\s*$", line)
        if start:
            rules.append({"kind": start.group(1), "name": start.group(2), "line": i + 1})
            i += 1
            continue
        key = key_pattern.match(line)
        if key and rules:
            indent, name, value = len(key.group(1)), key.group(2), key.group(3).strip()
            if value in ("|", "|-", ">", ">-"):
                block = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    block.append(lines[i].strip())
                    i += 1
                value = ("\n" if value.startswith("|") else " ").join(b for b in block if b)
                rules[-1][name] = value
                continue
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1].replace('\\"', '"')
            rules[-1][name] = value
        i += 1
    return rules


def selectors(expr):
    """(metric name, [label names in its matchers]) for every name{...} selector in expr."""
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", expr):
        labels = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", re.sub(r'"(?:[^"\\]|\\.)*"', '""', match.group(2)))
        yield match.group(1), labels


def metric_names(expr):
    """Names of the series an expression reads (functions, keywords, label names and numbers removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"#[^\n]*", "", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\boffset\s+-?\d+[smhdwy]\w*", " ", e)
    e = re.sub(r"\$\{?\w+\}?", " ", e)
    e = re.sub(r"(?<![\w:])\d+(\.\d*)?([eE][+-]?\d+)?", " ", e)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", e):
        token = match.group(0)
        if token.lower() in PROMQL_KEYWORDS:
            continue
        if re.match(r"\s*\(", e[match.end():]):
            continue  # A function or an aggregation.
        names.add(token)
    return names


def check_expr(where, expr, known, exported, problems):
    for name in sorted(metric_names(expr) - known):
        problems.append(f"{where}: reads {name}, which is neither exported nor recorded")
    for name, labels in selectors(expr):
        if name in exported:
            for label in labels:
                if label not in exported[name]:
                    problems.append(f"{where}: {name} has no label {label!r}")


def github_anchor(heading):
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def alert_tests(test_files):
    """{alertname: {"fires", "silent"}} from promtool test files (exp_alerts: [] or a list)."""
    seen = {}
    for path in test_files:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            match = re.match(r"^\s*alertname:\s*(\S+)\s*$", line)
            if not match:
                continue
            for following in lines[i + 1:i + 4]:
                exp = re.match(r"^\s*exp_alerts:\s*(.*)$", following)
                if exp:
                    kind = "silent" if exp.group(1).strip() == "[]" else "fires"
                    seen.setdefault(match.group(1), set()).add(kind)
                    break
    return seen


def group_names(path):
    return re.findall(r"^  - name:\s*(\S+)\s*$", path.read_text(), re.M)


def group_eval_order(path):
    """The group_eval_order list of a promtool test file, [] without one."""
    match = re.search(r"^group_eval_order:\s*\n((?:\s+- \S+\s*\n)+)", path.read_text(), re.M)
    return re.findall(r"- (\S+)", match.group(1)) if match else []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", default=str(pathlib.Path(__file__).resolve().parents[2]),
                        help="repository root (default: two levels above this script)")
    args = parser.parse_args()
    repo = pathlib.Path(args.repo)
    prometheus_dir = repo / "deploy" / "prometheus"
    dashboard_path = repo / "deploy" / "grafana" / "recommender-dashboard.json"
    problems = []

    recording = parse_rules(prometheus_dir / "recording_rules.yml")
    alerts = parse_rules(prometheus_dir / "alert_rules.yml")
    if not recording or not alerts:
        problems.append("found no recording rules or no alerts: has the rules files' layout changed?")
    exported = exported_series()
    recorded = {rule["name"] for rule in recording}
    known = set(exported) | recorded

    # Rules.
    for path, rules in (("recording_rules.yml", recording), ("alert_rules.yml", alerts)):
        for rule in rules:
            where = f"{path}:{rule['line']} {rule['name']}"
            if "expr" not in rule:
                problems.append(f"{where}: no expr")
                continue
            check_expr(where, rule["expr"], known, exported, problems)

    operations = (repo / "docs" / "operations.md").read_text()
    anchors = {github_anchor(h) for h in re.findall(r"^#+\s+(.*)$", operations, re.M)}
    test_files = sorted((prometheus_dir / "tests").glob("*.yml"))
    tested = alert_tests(test_files)
    for rule in alerts:
        where = f"alert_rules.yml:{rule['line']} {rule['name']}"
        if rule.get("severity") not in SEVERITIES:
            problems.append(f"{where}: severity {rule.get('severity')!r} is not one of {sorted(SEVERITIES)}")
        for key in ("summary", "description", "runbook_url"):
            if not rule.get(key):
                problems.append(f"{where}: no {key} annotation")
        runbook = rule.get("runbook_url", "")
        if runbook:
            page, _, anchor = runbook.partition("#")
            if not page.endswith("docs/operations.md") or anchor not in anchors:
                problems.append(f"{where}: runbook_url {runbook} is not a heading of docs/operations.md")
        for kind in ("fires", "silent"):
            if kind not in tested.get(rule["name"], set()):
                state = "firing" if kind == "fires" else "not firing (exp_alerts: [])"
                problems.append(f"{where}: no test in deploy/prometheus/tests/ shows it {state}")
    for name in sorted(set(tested) - {rule["name"] for rule in alerts}):
        problems.append(f"deploy/prometheus/tests: tests alert {name}, which alert_rules.yml does not define")

    # promtool evaluates groups not listed in group_eval_order in random order, and an alert evaluated
    # before the recording rule it reads sees the previous step's value: tests would be flaky.
    recording_groups = group_names(prometheus_dir / "recording_rules.yml")
    alert_groups = group_names(prometheus_dir / "alert_rules.yml")
    if set(recording_groups) & set(alert_groups):
        problems.append(f"rule group names used in both rules files: {sorted(set(recording_groups) & set(alert_groups))}")
    for path in test_files:
        order = group_eval_order(path)
        if sorted(order) != sorted(recording_groups + alert_groups) or any(
                order.index(a) < order.index(r) for r in recording_groups for a in alert_groups if a in order and r in order):
            problems.append(f"{path.relative_to(repo)}: group_eval_order must list every rule group, recording groups "
                            f"first: {recording_groups + alert_groups}")

    tests_text = "\n".join(path.read_text() for path in test_files)
    alerts_text = (prometheus_dir / "alert_rules.yml").read_text()
    kpis = (repo / "docs" / "kpis.md").read_text() if (repo / "docs" / "kpis.md").exists() else ""
    for rule in recording:
        if rule["name"] not in tests_text and rule["name"] not in alerts_text:
            problems.append(f"recording_rules.yml:{rule['line']} {rule['name']}: neither tested nor used by an alert")
        if rule["name"] not in kpis:
            problems.append(f"recording_rules.yml:{rule['line']} {rule['name']}: not described in docs/kpis.md")

    # Dashboard.
    try:
        dashboard = json.loads(dashboard_path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        problems.append(f"{dashboard_path}: {e}")
        dashboard = None
    if dashboard is not None:
        if not isinstance(dashboard.get("schemaVersion"), int) or dashboard["schemaVersion"] < 36:
            problems.append("dashboard: schemaVersion missing or below 36")
        for key in ("uid", "title"):
            if not dashboard.get(key):
                problems.append(f"dashboard: no {key}")
        variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
        datasource_variables = {name for name, v in variables.items()
                                if v.get("type") == "datasource" and v.get("query") == "prometheus"}
        if not datasource_variables:
            problems.append("dashboard: no Prometheus datasource template variable")
        for name, variable in variables.items():
            if variable.get("type") == "query":
                query = variable.get("query")
                query = query.get("query", "") if isinstance(query, dict) else query or ""
                match = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*", query)
                if not match:
                    problems.append(f"dashboard variable {name}: query {query!r} is not label_values(series, label)")
                    continue
                check_expr(f"dashboard variable {name}", match.group(1), known, exported, problems)
                series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", match.group(1)).group(0)
                if series in exported and match.group(2) not in exported[series]:
                    problems.append(f"dashboard variable {name}: {series} has no label {match.group(2)!r}")

        def check_datasource(where, datasource):
            uid = datasource.get("uid", "") if isinstance(datasource, dict) else ""
            if uid.strip("${}") not in datasource_variables:
                problems.append(f"{where}: datasource {datasource!r} is not the Prometheus variable")

        def check_variables(where, text):
            for name in re.findall(r"\$\{?(\w+)", text):
                if name not in variables and name not in GRAFANA_BUILTINS:
                    problems.append(f"{where}: uses undefined variable ${name}")

        panels = []
        for panel in dashboard.get("panels", []):
            panels.append(panel)
            panels.extend(panel.get("panels", []))
        ids = [panel.get("id") for panel in panels]
        for duplicate in sorted({i for i in ids if ids.count(i) > 1}, key=str):
            problems.append(f"dashboard: panel id {duplicate} is used twice")
        queries = 0
        for panel in panels:
            where = f"dashboard panel {panel.get('id')} {panel.get('title')!r}"
            if "gridPos" not in panel:
                problems.append(f"{where}: no gridPos")
            if panel.get("type") == "row":
                continue
            check_datasource(where, panel.get("datasource"))
            if not panel.get("targets"):
                problems.append(f"{where}: no queries")
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                if not expr:
                    problems.append(f"{where} query {target.get('refId')}: no expr")
                    continue
                queries += 1
                check_datasource(f"{where} query {target.get('refId')}", target.get("datasource", panel.get("datasource")))
                check_expr(f"{where} query {target.get('refId')}", expr, known, exported, problems)
                check_variables(f"{where} query {target.get('refId')}", expr)
        for annotation in dashboard.get("annotations", {}).get("list", []):
            if "expr" in annotation:
                where = f"dashboard annotation {annotation.get('name')!r}"
                check_datasource(where, annotation.get("datasource"))
                check_expr(where, annotation["expr"], known, exported, problems)
                check_variables(where, annotation["expr"])
        if queries == 0:
            problems.append("dashboard: no panel queries found")

    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check_monitoring: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_monitoring: {len(recording)} recording rules, {len(alerts)} alerts, dashboard OK", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
