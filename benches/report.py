#!/usr/bin/env python3
"""Merge the bench fragments of one scripts/bench run into results/latest.{md,json}
(and timestamped copies). Usage: report.py FRAGMENT_DIR RESULTS_DIR"""
import datetime
import json
import os
import sys

src, dst = sys.argv[1], sys.argv[2]


def load(name, default=None):
    p = os.path.join(src, name)
    if not os.path.exists(p):
        return default
    with open(p) as f:
        return json.load(f) if name.endswith(".json") else f.read().strip()


machine = load("machine.txt", "unknown machine")
dp = load("dataplane.json", {"baseline_mpps": None, "new_connections_per_second_per_core": None, "cases": []})
ct = load("conn_table.json", {})
sched = load("sched.json", [])
mh = load("metrics_http.json", {})
lab = load("lab.json", [])
icmp = load("icmp_flood.json", {})
ctl = load("ctl_pause.json", {})
dr = load("director.json", {})

cases = list(dp["cases"])
# Connection table and schedulers as rows too (mpps null; ns_per_packet = ns per operation).
if ct:
    for what, key, base in [("lookup", "lookup_mps", "baseline_hashmap_lookup_mps"),
                            ("lookup (burst of 32)", "lookup_burst_mps", "baseline_hashmap_lookup_mps"),
                            ("insert", "insert_mps", "baseline_hashmap_insert_mps")]:
        v, b = ct.get(key), ct.get(base)
        cases.append({"case": f"conn table {what} at 1M", "mode": "conn_table", "flows": ct["entries"], "mpps": None,
                      "ns_per_packet": 1e3 / v if v else None, "ratio_to_baseline": v / b if v and b else None,
                      "million_per_second": v, "baseline": "std HashMap, same keys, same run"})
for c in dr.get("cases", []):
    if c["mode"] != "macswap":
        cases.append(dict(c, case=f"director: {c['case']}",
                          baseline="refill + MAC swap over the same pool and sink, one core, same run"))
for s in sched:
    for n in (10, 1000):
        cases.append({"case": f"sched {s['scheduler']} n={n}", "mode": "sched", "flows": n, "mpps": None,
                      "ns_per_packet": s[f"ns_per_pick_{n}"], "ratio_to_baseline": s[f"ratio_to_rr_{n}"],
                      "baseline": "rr, same run"})
if mh:
    cases.append({"case": "metrics scrape, slow + oversized clients connected", "mode": "metrics_http",
                  "flows": int(mh["silent_clients"] + mh["trickling_clients"] + 1), "mpps": None,
                  "ns_per_packet": mh["loaded_p50_ms"] * 1e6, "ratio_to_baseline": mh["ratio_p50"],
                  "baseline": "scrape with no other clients, same run"})
if ctl:
    for what, new, old, flows in [
            (f"worker pause: adopt a change, {ctl['mh_services']:.0f} mh services", "adopt_after_ms", "adopt_before_ms", ctl["mh_services"]),
            ("worker pause: rvsadm -L -c of a full 1M table (largest chunk)", "list_chunk_after_ms", "list_before_ms", ctl["list_entries"])]:
        cases.append({"case": what, "mode": "control", "flows": int(flows), "mpps": None,
                      "ns_per_packet": ctl[new] * 1e6, "ratio_to_baseline": ctl[new] / ctl[old],
                      "baseline": "the old worker-side way (update() of every scheduler; one-go collect), same run"})
kernel = next((r for r in lab if r["mode"] == "kernel-nat"), None)
for r in lab:
    base = kernel["connections_per_second"] if kernel else None
    r["ratio_to_baseline"] = r["connections_per_second"] / base if base else None
    r["baseline"] = "kernel nftables DNAT connections/s, same run"
    cases.append(r)

out = {
    "machine": machine,
    "baseline_mpps": dp["baseline_mpps"],
    "bytes_per_connection": ct.get("bytes_per_connection_1m_rss"),
    "new_connections_per_second_per_core": dp["new_connections_per_second_per_core"],
    "cases": cases,
    "rss_placement": dp.get("rss_placement"),
    "scaling": dp.get("scaling"),
    "icmp_flood": icmp,
    "director": dr or None,
}


def f(v, fmt="{:.2f}"):
    return "-" if v is None else fmt.format(v)


now = datetime.datetime.now(datetime.timezone.utc)
md = [f"# rvs benchmark results ({now:%Y-%m-%d %H:%M} UTC)", "", f"Machine: {machine}", ""]
base = dp["baseline_mpps"]
nw = dp.get("workers", 1)
md += [f"## Data path: {'one worker' if nw == 1 else f'{nw} workers'} over net_ring (64-byte frames)", "",
       f"io-forward baseline (same harness, load balancing bypassed; mean of the first and last run): **{f(base)} Mpps**", "",
       "| case | mode | flows | Mpps | ns/packet | × baseline | conn/s | drops | generator busy |"
       + (" redirects/packet | Mpps per worker |" if nw > 1 else ""),
       "|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---|" if nw > 1 else "")]
for c in dp["cases"]:
    row = (f"| {c['case']} | {c['mode']} | {c['flows']:,} | {f(c['mpps'])} | {f(c['ns_per_packet'], '{:.1f}')} | "
           f"{f(c['ratio_to_baseline'], '{:.3f}')} | {f(c.get('connections_per_second'), '{:,.0f}')} | {c.get('drops', '-')} | "
           f"{f(c.get('generator_busy') * 100 if c.get('generator_busy') is not None else None, '{:.0f}%')} |")
    if nw > 1:
        per = " / ".join(f(w["mpps"]) for w in c.get("per_worker", []))
        row += f" {f(c.get('redirects_per_packet'), '{:.6f}')} | {per or '-'} |"
    md.append(row)
rp = dp.get("rss_placement") or {}
if rp.get("cases"):
    nw = rp["workers"]
    title = "Two workers" if nw == 2 else f"{nw} workers"
    md += ["", f"## {title}, RSS placement", "",
           "Frames placed on the worker queue a NIC's Toeplitz RSS picks with rvs's configuration (client address: "
           "source on wan, destination on lan); FullNAT replies to a local address on the queue its port's low bits "
           "name (`lport_owner`, the rte_flow rule). Redirects: packets handed between workers over the whole case "
           "(populating included); 0 means no packet crossed.", "",
           "| case | mode | flows | Mpps | conn/s | redirects out | redirects in | redirects/packet | Mpps per worker | drops |",
           "|---|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for c in rp["cases"]:
        per = " / ".join(f(w["mpps"]) for w in c["per_worker"])
        md.append(f"| {c['case']} | {c['mode']} | {c['flows']:,} | {f(c['mpps'])} | "
                  f"{f(c.get('connections_per_second'), '{:,.0f}')} | {c['redirects_out']:,} | {c['redirects_in']:,} | "
                  f"{f(c['redirects_per_packet'], '{:.6f}')} | {per} | {c['drops']} |")
    for c in rp["cases"]:
        if c["mode"] == "fnat":
            md += ["", f"FullNAT ({c['case']}): **redirects/packet {f(c['redirects_per_packet'], '{:.6f}')}** "
                       f"(replies owned by their port's worker: expected 0); frames whose port another worker "
                       f"owns: {c.get('misplaced', '-')}."]
        if "clients_split_across_real_servers" in c:
            md += ["", f"Persistence ({c['case']}): {c['clients']:,} clients, {c['connections_checked']:,} connections "
                       f"checked; **clients split across real servers: {c['clients_split_across_real_servers']}** "
                       f"(clients per real server {c['clients_per_real_server']}, per worker {c['clients_per_worker']})."]
sc = dp.get("scaling") or []
if sc:
    md += ["", "## Scaling: established NAT over N workers (one generator per worker, RSS placement)", "",
           "Flows in total, spread over the workers by their clients' RSS queue; each worker fed by its own "
           "generator lcore. × (N × 1): aggregate over N times the one-worker figure of the same run.", "",
           "| flows | N | Mpps | Mpps per worker (mean) | × (N × 1) | redirects/packet | drops | generator busy | Mpps per worker |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for c in sc:
        per = " / ".join(f(w["mpps"]) for w in c["per_worker"])
        md.append(f"| {c['flows']:,} | {c['workers']} | {f(c['mpps'])} | {f(c['mpps_per_worker'])} | "
                  f"{f(c['ratio_to_n_times_one_worker'], '{:.3f}')} | {f(c['redirects_per_packet'], '{:.6f}')} | "
                  f"{c['drops']} | {f(c['generator_busy'] * 100, '{:.0f}%')} | {per} |")
rg = dp.get("rvs_gen") or []
if rg:
    md += ["", "## rvs-gen beside the bench's generator (same harness, one worker)", "",
           "rvs-gen's engine (crates/gen, open loop) on generator 0's net_ring queues; ratio: rvs-gen over the "
           "bench's generator for the same case in this run.", "",
           "| case | rvs-gen | bench's generator | ratio |", "|---|---:|---:|---:|"]
    for c in rg:
        if "cps" in c:
            md.append(f"| {c['case']} | {f(c['cps'], '{:,.0f}')} conn/s (SYN→SYN-ACK p50 {f(c['syn_ack_p50_us'], '{:.0f}')} µs, "
                      f"p99 {f(c['syn_ack_p99_us'], '{:.0f}')} µs; timeouts {c['timeouts']}) | "
                      f"{f(c['bench_generator_cps'], '{:,.0f}')} conn/s | {f(c['ratio'])} |")
        else:
            md.append(f"| {c['case']} | {f(c['received_mpps'])} Mpps | {f(c['bench_generator_mpps'])} Mpps | {f(c['ratio'])} |")
md += ["", "Targets (printed, not asserted):", ""]
for c in dp["cases"]:
    if c["case"].startswith("established") and c["flows"] == 1_000_000:
        md.append(f"- {c['case']}: {f(c['mpps'])} Mpps vs ≥ 20 Mpps ({(c['mpps'] - 20) / 20 * 100:+.0f}%), "
                  f"{c['ratio_to_baseline'] * 100:.1f}% of io-forward vs ≥ 25%")
    if c["case"].startswith("new connections"):
        # Issue 11: NAT >= 1.5M/s, DR >= 2M/s, TUN >= 1.5M/s per core; FullNAT as NAT.
        t = {"new connections dr": 2e6}.get(c["case"], 1.5e6)
        v = c.get("connections_per_second") or 0
        md.append(f"- {c['case']}: {v:,.0f} conn/s vs ≥ {t:,.0f} ({(v - t) / t * 100:+.0f}%)")
sp = dp.get("synproxy") or {}
if "cookie_synacks_per_second" in sp:
    # Issue 14: cookie SYN-ACKs per second on one core >= 10 Mpps.
    v, t = sp["cookie_synacks_per_second"] / 1e6, sp["syn_flood_target_mpps"]
    md.append(f"- synproxy syn flood: {v:.2f} Mpps cookie SYN-ACKs vs ≥ {t:.0f} Mpps ({(v - t) / t * 100:+.0f}%), "
              f"{sp['syn_flood_ratio_to_baseline'] * 100:.1f}% of io-forward; connections in the table after: "
              f"{sp['syn_flood_connections_after']}")
if "new_connections_per_second" in sp:
    md.append(f"- synproxy new connections: {sp['new_connections_per_second']:,.0f} conn/s with SYNPROXY, "
              f"{sp['new_connections_per_second_without']:,.0f} without (same run, same NAT service): "
              f"{f(sp['new_connections_ratio'])}× (mistranslated {sp['mistranslated']}, unexpected frames "
              f"{sp['unexpected_frames']})")
if dr:
    md += ["", "## Director microbenchmark (one core, pre-built bursts)", "",
           f"`Director::input_burst` over bursts of {dr['burst']} 64-byte frames refilled from templates in a recycled "
           "buffer pool: no rings, no generator, no DPDK. Established flows in a random order (NAT and FullNAT: "
           "every other burst the servers' replies); new connections are "
           f"SYNs from new clients. Baseline: the same loop with a MAC swap in place of the Director "
           f"(mean of the first and last run): **{f(dr['baseline_mpps'])} Mpps** ({dr.get('pinned', '')}).", "",
           "| case | mode | flows | Mpps | ns/packet | × baseline | conn/s | drops |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for c in dr["cases"]:
        md.append(f"| {c['case']} | {c['mode']} | {c['flows']:,} | {f(c['mpps'])} | {f(c['ns_per_packet'], '{:.1f}')} | "
                  f"{f(c['ratio_to_baseline'], '{:.3f}')} | {f(c.get('connections_per_second'), '{:,.0f}')} | {c['drops']} |")
    t = dr["target_mpps"]
    md += ["", f"Target (printed, not asserted): Director at 1M flows ≥ {t:.0f} Mpps on one core:", ""]
    for c in dr["cases"]:
        if c["case"].startswith("established") and c["flows"] == 1_000_000:
            md.append(f"- {c['case']}: {f(c['mpps'])} Mpps, {'met' if c['mpps'] >= t else 'missed'} "
                      f"({(c['mpps'] - t) / t * 100:+.0f}%)")
    dsp = dr.get("synproxy") or {}
    if "cookie_synacks_per_second" in dsp:
        v, t = dsp["cookie_synacks_per_second"] / 1e6, dsp["target_mpps"]
        md.append(f"- synproxy syn flood: {v:.2f} Mpps cookie SYN-ACKs vs ≥ {t:.0f} Mpps, "
                  f"{'met' if v >= t else 'missed'} ({(v - t) / t * 100:+.0f}%); connections after: "
                  f"{dsp['connections_after']}")
if ct:
    md += ["", "## Connection table", "",
           "| figure | rvs | baseline (std HashMap, same keys, same run) |", "|---|---:|---:|",
           f"| bytes/connection at 1M (RSS delta) | {f(ct['bytes_per_connection_1m_rss'], '{:.1f}')} | {f(ct['baseline_hashmap_bytes_per_connection'], '{:.1f}')} |",
           f"| bytes/connection at 1M (allocated) | {f(ct['bytes_per_connection_1m_alloc'], '{:.1f}')} | |",
           f"| bytes/connection at 10M (RSS delta, 2 × 5M) | {f(ct['bytes_per_connection_10m_rss'], '{:.1f}')} | |",
           f"| insert, M/s (1M) | {f(ct['insert_mps'])} | {f(ct['baseline_hashmap_insert_mps'])} |",
           f"| insert, M/s (10M) | {f(ct['insert_10m_mps'])} | |",
           f"| lookup, M/s (random hits, 1M) | {f(ct['lookup_mps'])} | {f(ct['baseline_hashmap_lookup_mps'])} |",
           f"| lookup in bursts of 32, M/s | {f(ct['lookup_burst_mps'])} | |",
           f"| reply-key lookup, M/s | {f(ct['lookup_out_mps'])} | |",
           "", f"Target ≤ 128 bytes/connection: 1M {f(ct['bytes_per_connection_1m_rss'], '{:.1f}')} B, "
               f"10M {f(ct['bytes_per_connection_10m_rss'], '{:.1f}')} B. {ct.get('note', '')}."]
if sched:
    md += ["", "## Scheduler cost per pick (ns; × rr measured in the same run)", "",
           "| scheduler | n=10 | × rr | n=1000 | × rr |", "|---|---:|---:|---:|---:|"]
    for s in sched:
        md.append(f"| {s['scheduler']} | {s['ns_per_pick_10']:.1f} | {s['ratio_to_rr_10']:.2f} | {s['ns_per_pick_1000']:.1f} | {s['ratio_to_rr_1000']:.2f} |")
if icmp:
    md += ["", "## ICMP errors under a spoofed flood (one worker, 1 Mpps for 1 s, simulated clock)", "",
           "| | ICMP errors sent | ns/packet |", "|---|---:|---:|",
           f"| rate limit off (the old behaviour) | {icmp['errors_sent_unlimited']:,.0f} | {f(icmp['ns_per_packet_unlimited'], '{:.1f}')} |",
           f"| rate limit on (1000/s, burst 50) | {icmp['errors_sent_limited']:,.0f} | {f(icmp['ns_per_packet_limited'], '{:.1f}')} |",
           "", f"Errors sent, after / before: {f(icmp['ratio_after_to_before'], '{:.5f}')}."]
if mh:
    md += ["", "## /metrics under slow and oversized clients (scrape latency, ms)", "",
           "| scrape | p50 | p99 |", "|---|---:|---:|",
           f"| no other clients | {mh['baseline_p50_ms']:.3f} | {mh['baseline_p99_ms']:.3f} |",
           f"| {mh['silent_clients']:.0f} silent + {mh['trickling_clients']:.0f} trickling + 1 oversized | "
           f"{mh['loaded_p50_ms']:.3f} | {mh['loaded_p99_ms']:.3f} |",
           f"| × baseline | {mh['ratio_p50']:.2f} | {mh['ratio_p99']:.2f} |", "",
           f"Oversized requests pushed: {mh['oversized_bytes_pushed'] / 1048576:.0f} MiB; "
           f"process RSS grew {mh['rss_growth_bytes'] / 1048576:.1f} MiB."]
if ctl:
    md += ["", "## The worker's pauses for the control plane (ms; old way measured in the same run)", "",
           "| figure | before | after | × |", "|---|---:|---:|---:|",
           f"| adopt a change, {ctl['mh_services']:.0f} mh services all changed | {ctl['adopt_before_ms']:.3f} | {ctl['adopt_after_ms']:.4f} | {ctl['adopt_before_ms'] / ctl['adopt_after_ms']:.0f} |",
           f"| rvsadm -L -c, full 1M table (after: largest of {ctl['list_chunks']:.0f} per-tick chunks) | {ctl['list_before_ms']:.1f} | {ctl['list_chunk_after_ms']:.3f} | {ctl['list_before_ms'] / ctl['list_chunk_after_ms']:.0f} |",
           f"| longest pause | {ctl['pause_before_ms']:.1f} | {ctl['pause_after_ms']:.3f} | {ctl['pause_before_ms'] / ctl['pause_after_ms']:.0f} |"]
if lab:
    md += ["", "## The lab: real TCP through rvsd (af_packet and af_xdp ports), the kernel and HAProxy (wrk, 2 threads, 50 connections)", "",
           "Connections/s: `/` with `Connection: close` (one TCP connection per request). Throughput: `/big.bin` (20 MiB) over keep-alive.", "",
           "| director | connections/s | × kernel nftables | Gbit/s | × kernel nftables | errors |", "|---|---:|---:|---:|---:|---|"]
    kg = kernel["gbit_per_second"] if kernel else None
    for r in lab:
        g = r["gbit_per_second"] / kg if kg else None
        md.append(f"| {r['case'][4:]} | {r['connections_per_second']:,.0f} | {f(r['ratio_to_baseline'])} | {r['gbit_per_second']:.2f} | {f(g)} | {r.get('errors') or '-'} |")
    # The two PMDs side by side: the lab's default port is whichever carries more.
    pmd = {(r["mode"], r.get("pmd")): r for r in lab}
    lines = []
    for mode, label in (("masq", "NAT"), ("route", "DR")):
        a, x = pmd.get((mode, "af_packet")), pmd.get((mode, "af_xdp"))
        if a and x and a["connections_per_second"] and a["gbit_per_second"]:
            lines.append(f"- rvsd {label}, af_xdp / af_packet: {x['connections_per_second'] / a['connections_per_second']:.2f}× connections/s, "
                         f"{x['gbit_per_second'] / a['gbit_per_second']:.2f}× Gbit/s")
    if lines:
        md += ["", "Same run, same topology:", ""] + lines

os.makedirs(dst, exist_ok=True)
stamp = now.strftime("%Y%m%dT%H%M%SZ")
text = "\n".join(md) + "\n"
js = json.dumps(out, indent=2) + "\n"
for name in ("latest", stamp):
    with open(os.path.join(dst, f"{name}.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(dst, f"{name}.json"), "w") as fh:
        fh.write(js)
print(text)
