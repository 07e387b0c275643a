//! dashboards/rvs.json against live data: rvsd in the lab with a NAT service and a
//! keepalived.conf service under TCP_CHECK, two workers, traffic through both, a real
//! Prometheus scraping it every second. Every panel query and every template variable of
//! the dashboard, with the variables substituted as Grafana would, must return data, once
//! with every variable at "All" and once with one real value each. And the JSON must type
//! check against Grafana's own schema (@grafana/schema, dashboards/schema/check.mjs).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use common::prometheus::Prometheus;
use common::*;
use serde_json::Value;

/// A second service, from keepalived.conf, so the health families exist.
const CHECKED: &str = r#"
virtual_server 10.0.2.100 8080 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    real_server 10.0.3.11 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 10.0.3.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"#;
const CHECKED_SERVICE: &str = "TCP 10.0.2.100:8080";

/// What `$__rate_interval` becomes: Grafana's is at least four scrape intervals (1 s here).
const RATE_INTERVAL: &str = "5s";

fn dashboard_path() -> PathBuf {
    repo().join("dashboards/rvs.json")
}

fn dashboard() -> Value {
    let path = dashboard_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Panels, those inside rows included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// (panel title / refId, expr) of every query.
fn targets(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or_default();
            out.push((format!("{} / {}", p["title"], t["refId"]), expr.to_string()));
        }
    }
    out
}

/// (name, query) of the template variables.
fn variables(d: &Value) -> Vec<(String, String)> {
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    vars.iter()
        .map(|v| {
            assert_eq!(v["type"], "query", "variable {}", v["name"]);
            let q = v["query"].as_str().or_else(|| v["query"]["query"].as_str()).unwrap_or_default();
            (v["name"].as_str().expect("variable name").to_string(), q.to_string())
        })
        .collect()
}

/// Grafana's escaping of a multi-value variable's value inside a PromQL regex matcher:
/// regex metacharacters get a backslash, itself doubled in the PromQL string.
fn regex_escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if "\\$^*+?.()|{}[]'".contains(c) {
            out.push_str("\\\\");
        }
        out.push(c);
    }
    out
}

/// The query with `$__rate_interval` and the variables replaced; panics on any `$` left
/// (a variable the dashboard does not define).
fn substitute(q: &str, values: &[(String, String)]) -> String {
    let mut q = q.replace("$__rate_interval", RATE_INTERVAL);
    let mut vars: Vec<_> = values.iter().collect();
    // Longest name first, so no name eats the start of another.
    vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in vars {
        q = q.replace(&format!("${{{name}}}"), value).replace(&format!("${name}"), value);
    }
    assert!(!q.contains('$'), "an undefined variable or macro left in {q}");
    q
}

/// `label_values(selector, label)` → (label, selector).
fn label_values_args(q: &str) -> (String, String) {
    let inner = q
        .trim()
        .strip_prefix("label_values(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not label_values(…): {q}"));
    let (selector, label) = inner.rsplit_once(',').unwrap_or_else(|| panic!("label_values without a label: {q}"));
    (label.trim().to_string(), selector.trim().to_string())
}

/// Every target and variable query with `values` substituted: the failures, and the
/// samples of each target by title (all must return data).
type Answers = Vec<(String, Vec<(Value, f64)>)>;

fn check_all(prom: &Prometheus, d: &Value, values: &[(String, String)], failures: &mut Vec<String>) -> Answers {
    let mut answers = Vec::new();
    for (name, q) in variables(d) {
        let (label, selector) = label_values_args(&substitute(&q, values));
        match prom.label_values(&label, &selector) {
            Ok(v) if v.is_empty() => failures.push(format!("variable {name}: {q} → no values")),
            Ok(_) => {}
            Err(e) => failures.push(format!("variable {name}: {q} → {e}")),
        }
    }
    for (what, expr) in targets(d) {
        let q = substitute(&expr, values);
        match prom.query(&q) {
            Ok(v) if v.is_empty() => failures.push(format!("{what}: {q} → no data")),
            Ok(v) => answers.push((what, v)),
            Err(e) => failures.push(format!("{what}: {q} → {e}")),
        }
    }
    answers
}

/// Sum of the samples of the panel whose title starts with `title`, query `refId`.
fn total(answers: &Answers, title: &str, ref_id: &str) -> f64 {
    let key = format!("\"{title}");
    answers
        .iter()
        .filter(|(what, _)| what.starts_with(&key) && what.ends_with(&format!("/ \"{ref_id}\"")))
        .flat_map(|(_, v)| v.iter().map(|(_, x)| x))
        .sum()
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs_f64()
}

/// Offline facts of the export format: one Prometheus datasource input, used by every
/// panel and query; selectors scoped by `$instance`; rates over `$__rate_interval` only;
/// a unit on every panel.
#[test]
fn dashboard_json_is_an_importable_export() {
    let d = dashboard();
    let inputs = d["__inputs"].as_array().expect("__inputs");
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert_eq!(inputs[0]["name"], "DS_PROMETHEUS");
    assert_eq!(inputs[0]["type"], "datasource");
    assert_eq!(inputs[0]["pluginId"], "prometheus");
    let ds = serde_json::json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"});
    let mut ids = std::collections::HashSet::new();
    for p in panels(&d) {
        assert!(ids.insert(p["id"].as_u64().expect("panel id")), "panel ids are unique: {}", p["id"]);
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"], ds, "panel {}", p["title"]);
        assert!(p["fieldConfig"]["defaults"]["unit"].is_string(), "panel {} has a unit", p["title"]);
        let t = p["targets"].as_array().expect("targets");
        assert!(!t.is_empty(), "panel {} has queries", p["title"]);
        for t in t {
            assert_eq!(t["datasource"], ds, "panel {} {}", p["title"], t["refId"]);
        }
    }
    for (what, expr) in targets(&d) {
        assert!(!expr.trim().is_empty(), "{what}: empty query");
        // Every selector scoped to the chosen rvsd (dashboard-linter's target-instance rule).
        for (i, _) in expr.match_indices('{') {
            assert!(
                expr[i + 1..].starts_with("instance=~\"$instance\""),
                "{what}: a selector not scoped by $instance: {expr}"
            );
        }
        for (i, _) in expr.match_indices('[') {
            assert!(expr[i..].starts_with("[$__rate_interval]"), "{what}: a range other than $__rate_interval: {expr}");
        }
    }
    for (name, q) in variables(&d) {
        label_values_args(&q);
        assert!(d["templating"]["list"].as_array().unwrap().iter().any(|v| v["name"] == name.as_str()));
    }
}

/// Grafana's TypeScript types (@grafana/schema) accept the dashboard, and reject it with
/// a misspelt panel key or a legend mode Grafana does not have: the check is not vacuous.
#[test]
fn dashboard_conforms_to_grafana_schema() {
    let check = |file: &Path| {
        let out = Command::new("node")
            .arg(repo().join("dashboards/schema/check.mjs"))
            .arg(file)
            .output()
            .expect("node (scripts/setup installs it)");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains("Cannot find module"), "scripts/setup installs dashboards/schema's packages:\n{text}");
        (out.status.code(), text)
    };
    let (code, text) = check(&dashboard_path());
    assert_eq!(code, Some(0), "{text}");

    let mut bad = dashboard();
    let ts = bad["panels"].as_array_mut().unwrap().iter_mut().find(|p| p["type"] == "timeseries").unwrap();
    ts["gridPoss"] = ts["gridPos"].clone();
    ts["options"]["legend"]["displayMode"] = "lists".into();
    // Not Scratch: that would remove the lab test's files, running in this process too.
    let path = std::env::temp_dir().join(format!("rvs-{}-bad-dashboard.json", std::process::id()));
    std::fs::write(&path, serde_json::to_string(&bad).unwrap()).unwrap();
    let (code, text) = check(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("'\"gridPoss\"' does not exist"), "{text}");
    assert!(text.contains("Type '\"lists\"' is not assignable"), "{text}");
}

#[test]
fn lab_dashboard_queries_all_return_data() {
    let started = Instant::now();
    let d = dashboard();
    let _lab = Lab::up();
    let kconf = std::env::temp_dir().join(format!("rvs-{}-dashboard.conf", std::process::id()));
    std::fs::write(&kconf, CHECKED).expect("write keepalived.conf");
    let config = lab_config(NAT_RR).replacen(
        "socket = \"/run/rvs/rvsd-lab-test.sock\"",
        &format!("socket = \"/run/rvs/rvsd-lab-test.sock\"\nkeepalived = \"{}\"", kconf.display()),
        1,
    );
    let mut rvsd = Rvsd::start(&write_config("dashboard", &config));
    let prom = Prometheus::start();

    // Traffic through both services: 200 at once and 20 MiB on the NAT one, 10 on the
    // checked one (which has the health families).
    parallel_200("http://10.0.2.100/");
    big_download_matches("http://10.0.2.100/");
    let codes = ns_ok(
        "rvs-client",
        &["sh", "-c", "for i in $(seq 10); do curl -sS --max-time 5 -o /dev/null -w '%{http_code}\\n' http://10.0.2.100:8080/; done"],
    );
    assert_eq!(codes.lines().filter(|l| *l == "200").count(), 10, "{codes}");
    let sent = now();
    // Rates need two samples in their window: three scrapes after the traffic.
    prom.scrapes_after(sent, 3);

    let mut failures = Vec::new();
    // Negative control: a misspelt metric must be reported, or the check below proves nothing.
    check_all(
        &prom,
        &serde_json::json!({"panels": [{"title": "control", "targets": [{"refId": "A", "expr": "rate(rvs_service_conections_total[$__rate_interval])"}]}], "templating": {"list": []}}),
        &[],
        &mut failures,
    );
    assert_eq!(failures.len(), 1, "a misspelt metric is caught: {failures:?}");
    failures.clear();

    // Every variable at All (allValue .*).
    let names: Vec<String> = variables(&d).into_iter().map(|(n, _)| n).collect();
    let all: Vec<_> = names.iter().map(|n| (n.clone(), ".*".to_string())).collect();
    let answers = check_all(&prom, &d, &all, &mut failures);

    // One real value each, in order, as a user picks them top down: the checked service,
    // then the first value each later variable offers given those before it.
    let mut one: Vec<(String, String)> = all.clone();
    for (i, (name, q)) in variables(&d).into_iter().enumerate() {
        let (label, selector) = label_values_args(&substitute(&q, &one));
        let values = prom.label_values(&label, &selector).unwrap_or_default();
        let pick = if name == "service" {
            assert!(values.iter().any(|v| v == CHECKED_SERVICE), "service offers {CHECKED_SERVICE}: {values:?}");
            CHECKED_SERVICE.to_string()
        } else {
            values.first().cloned().unwrap_or_else(|| panic!("variable {name} offers no value"))
        };
        one[i].1 = regex_escape(&pick);
    }
    let picked = check_all(&prom, &d, &one, &mut failures);
    eprintln!(
        "{} queries and {} variables, twice (All; {one:?}): {} without data",
        targets(&d).len(),
        names.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} queries without data:\n{}", failures.len(), failures.join("\n"));

    // Data, not just series: what the traffic must have moved, within the 5 s windows.
    for (title, ref_id) in [
        ("Packets per worker", "A"),
        ("Bytes per worker", "A"),
        ("NIC packets", "A"),
        ("Check results/s", "A"),
        ("Connection table entries", "A"),
    ] {
        assert!(total(&answers, title, ref_id) > 0.0, "{title} {ref_id} shows traffic: {answers:?}");
    }
    assert_eq!(total(&answers, "Real servers up", "A"), 2.0, "both checked servers up");
    assert_eq!(total(&answers, "Real servers up", "B"), 2.0, "two servers checked");
    assert_eq!(total(&answers, "Weights", "A"), 1.0 + 1.0 + 2.0 + 1.0, "rr 1+1 and wrr 2+1");
    let health = picked.iter().find(|(w, _)| w.starts_with("\"Real server health\"")).expect("health panel");
    assert_eq!(health.1.len(), 1, "one server picked: {health:?}");
    assert_eq!(health.1[0].0["service"], CHECKED_SERVICE);
    assert_eq!(health.1[0].1, 1.0, "and it is up");

    drop(prom);
    let (status, _) = rvsd.terminate();
    assert!(status.success(), "rvsd exits cleanly:\n{}", rvsd.output());
    eprintln!("lab dashboard test took {:?}", started.elapsed());
}
