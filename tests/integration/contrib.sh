#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# contrib/: the Prometheus rules (promtool check rules, promtool test rules
# on their unit test) and the Grafana dashboard and rules against a real
# scrape: every metric name their queries use is one synguard exports.
# Helpers are prefixed ct_ (only test_* are run).

CT_RULES=$SG_ROOT/contrib/prometheus/synguard.rules.yml
CT_RULES_TEST=$SG_ROOT/contrib/prometheus/synguard.rules.test.yml
CT_DASH=$SG_ROOT/contrib/grafana/synguard.json
CT_PORT=9464

ct_need() {
	command -v promtool >/dev/null || skip "promtool not installed (tests/deps.sh installs the prometheus package)"
	command -v jq >/dev/null || skip "jq not installed"
}

test_contrib_rules() {
	ct_need
	promtool check rules "$CT_RULES" >"$TMPD/check" 2>&1 || fail "promtool check rules: $(cat "$TMPD/check")"
	info "$(grep -o 'SUCCESS.*' "$TMPD/check")"
	(cd "$(dirname "$CT_RULES_TEST")" && promtool test rules "$(basename "$CT_RULES_TEST")") >"$TMPD/test" 2>&1 ||
		fail "promtool test rules: $(cat "$TMPD/test")"
	info "promtool test rules: $(grep -c 'alertname:' "$CT_RULES_TEST") alert checks, $(grep -c 'expr:' "$CT_RULES_TEST") expression checks passed"
	# every alert the rules define is tested
	for a in $(grep -oE 'alert: [A-Za-z]+' "$CT_RULES" | cut -d' ' -f2); do
		grep -q "alertname: $a\$" "$CT_RULES_TEST" || fail "alert $a has no test"
	done
	return 0
}

# ct_names TEXT: the synguard_* metric names in PromQL text (not the
# recording rules' synguard:... names), one per line.
ct_names() {
	grep -oE '(^|[^:a-zA-Z0-9_])synguard_[a-zA-Z0-9_]+' <<<"$1" | sed -E 's/^[^s]//' | sort -u
}

test_contrib_names_exported() {
	local scrape exprs names n=0 name
	ct_need
	command -v curl >/dev/null || skip "curl not installed"
	[[ -e $SG ]] || skip "missing $SG (make)"
	jq -e . "$CT_DASH" >/dev/null || fail "the dashboard is not valid JSON"
	ns_setup
	# protect mode with a --ports port: every family has samples
	sg_start -q --mode protect --ports 8080 --metrics 127.0.0.1:$CT_PORT
	scrape=$(srv curl -sf --max-time 5 "http://127.0.0.1:$CT_PORT/metrics") || fail "scrape failed"
	sg_stop
	exprs=$(jq -r '[.. | objects | (.expr?, .definition?) // empty] | .[]' "$CT_DASH")
	[[ -n $exprs ]] || fail "no queries in the dashboard"
	names=$(ct_names "$exprs")
	for name in $names; do
		grep -qE "^$name[{ ]" <<<"$scrape" || fail "the dashboard queries $name, which synguard does not export"
		n=$((n + 1))
	done
	info "dashboard: $(wc -l <<<"$exprs") queries, $n metric names, all exported"
	n=0
	# (anywhere in the file: expressions and the names the descriptions give)
	for name in $(ct_names "$(grep -v '^#' "$CT_RULES")"); do
		grep -qE "^$name[{ ]" <<<"$scrape" || fail "the rules use $name, which synguard does not export"
		n=$((n + 1))
	done
	info "rules: $n metric names, all exported"
	return 0
}
