"""The bench report: Pareto fronts, ``bench.md`` tables and the matplotlib plots.

Members: :func:`pareto`, :func:`markdown`, :func:`headline_rows`, :func:`plots`, :data:`PLOTS`.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["pareto", "markdown", "headline_rows", "plots", "PLOTS", "HEADLINE_HEADER"]

#: File name -> what it shows (bench.json lists the files written).
PLOTS = {
    "cycles_vs_fidelity.png": "attention cycles per model pass against dense vs mean embedding cosine, per "
                              "technique, with its Pareto front",
    "dense_utilization.png": "the dense unit's MAC utilization against sequence length n, per lanes config",
    "fetched_bytes.png": "bytes per model pass per config (SPRINT: K/V bytes fetched over AXI, from the unit's "
                         "fetched counter; MEMO: map bytes read over AXI, counted on its read port, plus operands "
                         "streamed in; others: operands streamed in)",
}

HEADLINE_HEADER = ("technique", "config", "cycles/pass", "vs dense", "MAC util", "mean cos", "min cos",
                   "NN agree", "bytes/pass", "bytes vs dense", "measured")
#: ``rtl.source`` -> the "measured" column.
SOURCES = {"rtl": "RTL", "cycle-model": "cycle model (no RTL)"}


def pareto(points: list[dict]) -> set[str]:
    """Names of the points no other point beats on both cycles (lower) and mean cosine
    (higher), among those that have both."""
    have = [p for p in points if p.get("rtl") and p.get("fidelity")]
    front = set()
    for p in have:
        c, f = p["rtl"]["cycle_ratio"] or p["rtl"]["cycles"], p["fidelity"]["mean_cosine"]
        dominated = False
        for q in have:
            if q is p:
                continue
            qc, qf = q["rtl"]["cycle_ratio"] or q["rtl"]["cycles"], q["fidelity"]["mean_cosine"]
            if qc <= c and qf >= f and (qc < c or qf > f):
                dominated = True
                break
        if not dominated:
            front.add(p["name"])
    return front


def _f(value, fmt: str, none: str = "-") -> str:
    return none if value is None else format(value, fmt)


def _row(p: dict) -> tuple[str, ...]:
    rtl, fid = p.get("rtl") or {}, p.get("fidelity") or {}
    nn = "-" if fid.get("nn_agree") is None else f"{fid['nn_agree']}/{fid['sentences']}"
    return (p["technique"], p["name"], _f(rtl.get("cycles_per_pass"), ",.0f"),
            _f(rtl.get("cycle_ratio"), ".3f"), _f(rtl.get("mac_utilization"), ".1%"),
            _f(fid.get("mean_cosine"), ".4f"), _f(fid.get("min_cosine"), ".4f"), nn,
            _f(rtl.get("bytes_per_pass"), ",.0f"), _f(rtl.get("bytes_ratio"), ".3f"),
            SOURCES.get(rtl.get("source", "rtl"), "-"))


def headline_rows(report: dict) -> list[tuple[str, ...]]:
    """One row per technique: its default config."""
    return [_row(p) for p in report["points"] if p["default"]]


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def markdown(report: dict) -> str:
    s = report["sentences"]
    lines = [
        f"# attnforge bench: preset `{report['preset']}`",
        "",
        f"Reproduce: `{report['command']}` ({report['preset_description']}).",
        "",
        f"- Model: {report['model']}, {s['layers']} layers x {s['heads_per_layer']} heads.",
        f"- Fidelity: {s['fidelity']} sentences of `{s['file']}` through the golden model of each config "
        f"inside MiniLM; embedding cosine (mean, min) and nearest-neighbour agreement against `exact` "
        f"(float attention).",
        f"- RTL: {len(s['rtl'])} sentences ({', '.join(map(str, s['rtl_token_lengths']))} tokens), every layer, "
        f"head{'s' if len(s['rtl_heads']) > 1 else ''} {', '.join(map(str, s['rtl_heads']))}, on Verilator, every "
        f"output checked exactly against the golden integer model; cycles and MAC cycles are the unit's own "
        f"`perf` counters. A model pass is a sentence's {s['layers']} layers x {s['heads_per_layer']} heads "
        f"(replayed heads scaled to all), averaged over the sentences; N = {report['max_tokens']}.",
        f"- vs dense: the technique's cycles (bytes) over the dense unit's (default config) on the same packets.",
        f"- memo and memo_cta replay MEMO's recurring-request stream in order instead of the sentences (MEMO spans "
        f"requests; memo_cta's cycle model covers all 12 heads); their sections say which requests, and what a pass "
        f"and the dense baseline are. "
        f"`measured`: RTL (the unit's counters on Verilator, outputs checked exactly) or cycle model (golden cycle "
        f"models; memo_cta has no RTL).",
        f"- Pareto: not beaten on both cycles and mean cosine by another config of the technique with the same "
        f"lanes as its default (lanes trade area for cycles; other lanes show -).",
        "",
        "## Headline",
        "",
        *_table(HEADLINE_HEADER, headline_rows(report)),
        "",
    ]
    for tech in report["techniques"]:
        pts = [p for p in report["points"] if p["technique"] == tech["name"]]
        knobs = list(dict.fromkeys(k for p in pts for k in p["knobs"]))
        header = ("config", *knobs, "cycles/pass", "vs dense", "MAC util", "mean cos", "min cos", "NN agree",
                  "bytes/pass", "Pareto", "measured")
        rows = []
        for p in pts:
            r = _row(p)
            rows.append((p["name"] + (" (default)" if p["default"] and p["name"] != "default" else ""),
                         *(str(p["knobs"].get(k, "-")) for k in knobs), *r[2:9], {True: "yes", False: "", None: "-"}[p["pareto"]], r[10]))
        first = pts[0]["rtl"] if pts and pts[0].get("rtl") else {}
        notes = []
        if first.get("source", "rtl") != "rtl":
            notes.append("**Cycle model, not RTL**: there is no RTL of this combination; cycles and bytes come from "
                         "the golden cycle models, fidelity from the golden models.")
        if first.get("workload"):
            fid = pts[0].get("fidelity") or {}
            notes.append(f"Workload: {first['workload']}; fidelity on {fid.get('set', 'the same requests')}.")
        if first.get("baseline"):
            notes.append(f"vs dense: {first['baseline']}.")
        lines += [f"## {tech['name']}", "", f"{tech['description']}. Unit `{tech['unit']}`; fidelity "
                  f"implementation per config in bench.json; bytes: {first.get('bytes_source', '-')}.",
                  *([""] + [" ".join(notes)] if notes else []), "", *_table(header, rows), ""]
    lines += ["## Plots", ""]
    for name in report["plots"]:
        lines += [f"![{name}]({name})", "", f"{PLOTS[name]}.", ""]
    lines += [f"Measured in {report['seconds']:.0f} s with {report['jobs']} worker(s); every number is in "
              f"bench.json with its config."]
    return "\n".join(lines) + "\n"


def plots(report: dict, out: Path) -> list[str]:
    """Write the PNGs into ``out``; returns their file names."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    techs = [t["name"] for t in report["techniques"]]
    color = {t: colors[i % len(colors)] for i, t in enumerate(techs)}

    # cycles against fidelity, per technique, with the Pareto front
    fig, ax = plt.subplots(figsize=(7, 4.8))
    for tech in techs:
        pts = [p for p in report["points"] if p["technique"] == tech and p.get("rtl") and p.get("fidelity")]
        xs = [p["rtl"]["cycle_ratio"] for p in pts]
        ys = [p["fidelity"]["mean_cosine"] for p in pts]
        model = any(p["rtl"].get("source", "rtl") != "rtl" for p in pts)
        ax.scatter(xs, ys, color=color[tech], label=f"{tech} (cycle model)" if model else tech, zorder=3,
                   marker="^" if model else "o")
        for p, x, y in zip(pts, xs, ys):
            ax.annotate(p["name"], (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
        front = sorted((p["rtl"]["cycle_ratio"], p["fidelity"]["mean_cosine"]) for p in pts if p["pareto"] is True)
        if len(front) > 1:
            ax.step([x for x, _ in front], [y for _, y in front], where="post", color=color[tech], alpha=0.6)
    ax.set_xlabel("attention cycles per model pass / dense unit's")
    ax.set_ylabel("mean embedding cosine vs exact")
    ax.set_title(f"cycles vs fidelity (preset {report['preset']}, Pareto fronts as steps)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "cycles_vs_fidelity.png", dpi=110)
    plt.close(fig)
    written.append("cycles_vs_fidelity.png")

    # dense utilization against n
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for p in (p for p in report["points"] if p["technique"] == "dense" and p.get("rtl")):
        by_n: dict[int, list[float]] = {}
        for r in p["rtl"]["per_packet"]:
            by_n.setdefault(r["n"], []).append(r["mac_cycles"] / (p["rtl"]["arrays"] * r["cycles"]))
        ns = sorted(by_n)
        ax.plot(ns, [sum(by_n[n]) / len(by_n[n]) for n in ns], marker="o", label=f"lanes={p['knobs']['lanes']}")
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("MAC utilization (perf counters)")
    ax.set_ylim(0, 1)
    ax.set_title("dense unit: MAC utilization vs n on MiniLM packets")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "dense_utilization.png", dpi=110)
    plt.close(fig)
    written.append("dense_utilization.png")

    # bytes per model pass
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(report["points"]) + 2), 4.2))
    names, values, cols = [], [], []
    for p in report["points"]:
        if p.get("rtl"):
            names.append(p["label"])
            values.append(p["rtl"]["bytes_per_pass"])
            cols.append(color[p["technique"]])
    ax.bar(range(len(values)), values, color=cols)
    ax.set_xticks(range(len(values)), names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("bytes per model pass")
    ax.set_title("bytes fetched / streamed in per model pass")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "fetched_bytes.png", dpi=110)
    plt.close(fig)
    written.append("fetched_bytes.png")
    return written
