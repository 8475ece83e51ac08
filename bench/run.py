"""Run every benchmark and print the tables: ``python bench/run.py`` (full, a few minutes) or ``--quick`` (~1 min).

A full run also writes the tables into bench/README.md and the edit-latency plot into bench/latency.png
(``--no-write`` to skip; a quick run writes only with ``--write``). Every process started here is stopped here.
See README.md for what each number means.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]  # the bench modules, and tests/postgres.py for the PostgreSQL floor

import browser_latency  # noqa: E402
import changefeed  # noqa: E402
import classroom  # noqa: E402
import edit_latency  # noqa: E402
import fanout  # noqa: E402
import kernel_cost  # noqa: E402
import optimistic  # noqa: E402
import scale  # noqa: E402
from common import bench_server, fmt_ms, fmt_ratio, machine_header, raise_fd_limit, table  # noqa: E402

SECTIONS = ("latency", "fanout", "feed", "optimistic", "scale", "browser", "kernel", "classroom")
RESULTS_MARK = "<!-- results: written by bench/run.py; everything below is replaced on each run -->"


@dataclass(frozen=True)
class Plan:
    name: str
    collaborators: tuple[int, ...]
    edits: int
    fanout_subscribers: tuple[int, ...]
    fanout_deliveries: int
    acks: int
    feed_plan: tuple[tuple[float, float], ...]
    connections: int
    heartbeat_seconds: float
    late_edits: tuple[int, ...]
    optimistic_updates: int
    warmup: int
    keystrokes: int
    table_edits: int
    kernel_idle_seconds: float
    classroom_sizes: tuple[int, ...]
    classroom_seconds: float


QUICK = Plan(
    "quick",
    (2, 10, 50),
    60,
    (1, 10, 100),
    15_000,
    150,
    ((1.0, 3.0), (100.0, 1.5), (1000.0, 1.5), (5000.0, 1.5)),
    1000,
    1.5,
    (10_000,),
    2000,
    10,
    30,
    5,
    3.0,
    (10, 50),
    5.0,
)
FULL = Plan(
    "full",
    (2, 10, 50),
    500,
    (1, 10, 100),
    100_000,
    1000,
    ((1.0, 20.0), (100.0, 5.0), (1000.0, 5.0), (5000.0, 5.0)),
    1000,
    5.0,
    (10_000, 100_000),
    10_000,
    25,
    150,
    20,
    10.0,
    (10, 50, 100),
    15.0,
)


def _loadavg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


# ---------------------------------------------------------------------------------------------- sections


def run_latency(plan: Plan, server, out: list[str], results: dict) -> None:
    measured = {}
    for n in plan.collaborators:
        for system in edit_latency.SYSTEMS:
            result = edit_latency.measure(system, n, plan.edits, server, warmup=plan.warmup)
            measured[(system, n)] = result
            s = result.summary
            print(
                f"  latency {system:<17} N={n:<3} p50 {fmt_ms(s.p50)} ms  p99 {fmt_ms(s.p99)} ms  lost {s.lost}",
                flush=True,
            )
    results["latency"] = measured
    rows = []
    for n in plan.collaborators:
        nb, peer, floor = (measured[(system, n)].summary for system in edit_latency.SYSTEMS)
        lost = "/".join(str(measured[(system, n)].summary.lost) for system in edit_latency.SYSTEMS)
        rows.append(
            [
                n,
                f"{fmt_ms(nb.p50)} / {fmt_ms(nb.p99)}",
                f"{fmt_ms(peer.p50)} / {fmt_ms(peer.p99)}",
                f"{fmt_ms(floor.p50)} / {fmt_ms(floor.p99)}",
                f"{fmt_ratio(nb.p50 / peer.p50)} / {fmt_ratio(nb.p99 / peer.p99)}",
                f"{fmt_ratio(nb.p50 / floor.p50)} / {fmt_ratio(nb.p99 / floor.p99)}",
                f"{nb.count}",
                lost,
            ]
        )
    out.append(
        "### 1. Shared-cell edit latency (ms, p50 / p99)\n\n"
        f"One writer appends one character {edit_latency.RATE:.0f}×/s ({plan.edits} edits, first "
        f"{plan.warmup} not counted); latency from just before the writer's insert to each reader's callback. "
        f"Writer in its own process; the N−1 readers in {edit_latency.READER_PROCESSES} processes (nbrealtime: one "
        "`nbrealtime.connect` room = one websocket per collaborator, the rooms of a process share its background "
        "loop); server in its own process.\n\n"
        + table(
            [
                "N",
                "nbrealtime",
                "pycrdt-websocket (peer)",
                "relay (floor)",
                "nbrt ÷ peer",
                "nbrt ÷ floor",
                "samples",
                "lost nbrt/peer/floor",
            ],
            rows,
        )
    )


def run_fanout(plan: Plan, server, out: list[str], results: dict) -> None:
    rows = []
    for count in plan.fanout_subscribers:
        r = fanout.measure(server, count, plan.fanout_deliveries, plan.acks)
        print(
            f"  fan-out S={count:<3} {r.deliveries_per_second:,.0f} deliveries/s  ack p50 {fmt_ms(r.ack.p50)} ms",
            flush=True,
        )
        rows.append(
            [count, r.messages, f"{r.deliveries_per_second:,.0f}", r.lost, fmt_ms(r.ack.p50), fmt_ms(r.ack.p99)]
        )
    results["fanout"] = rows
    out.append(
        "### 2. Broadcast fan-out (one channel)\n\n"
        "Raw websockets speaking Phoenix serializer 1.0.0 (bench/phoenix.py; they offer permessage-deflate as "
        "realtime-py does, the server declines it), subscribers in "
        f"{fanout.SUBSCRIBER_PROCESSES} processes. One publisher sends M broadcasts as fast as it can; "
        "deliveries/s = M × S ÷ (last delivery − first send). Ack round trip: a second publisher "
        "with `broadcast.ack`, one message at a time, with the S subscribers in the channel.\n\n"
        + table(["subscribers S", "messages M", "deliveries/s", "lost", "ack p50 ms", "ack p99 ms"], rows)
    )


def run_feed(plan: Plan, server, out: list[str], results: dict) -> None:
    steps = list(plan.feed_plan)
    driver = changefeed.measure_noop(steps)
    feed = changefeed.measure_nbrealtime(server, steps)
    floors: list[changefeed.FeedResult] = []
    try:
        full = plan.name == "full"
        fast, version = changefeed.measure_postgres(steps, notify=True, durable=False) if full else ([], "")
        durable, version = changefeed.measure_postgres(steps, notify=full, durable=True)
        floors = [*fast, *durable]
        note = f"PostgreSQL {version}, throwaway cluster, asyncpg {_ver('asyncpg')}."
    except Exception as error:  # PostgreSQL or asyncpg missing: say so, keep the rest
        note = f"PostgreSQL floor not measured: {error}"
    equal = {r.target_rate: r for r in floors if r.system.startswith("PostgreSQL INSERT") and "fsync on" in r.system}
    rows = []
    for r in [*driver, *feed, *floors]:
        s = r.summary
        floor = equal.get(r.target_rate)
        ratio = fmt_ratio(s.p50 / floor.summary.p50) if floor and r.system.startswith("nbrealtime") else "—"
        rows.append(
            [
                r.system,
                f"{r.target_rate:g}",
                f"{r.achieved_rate:,.0f}",
                s.count,
                s.lost,
                fmt_ms(s.p50),
                fmt_ms(s.p99),
                fmt_ms(r.write.p50),
                ratio,
            ]
        )
        print(
            f"  feed {r.system:<60} {r.target_rate:>6g}/s → {r.achieved_rate:,.0f}/s p50 {fmt_ms(s.p50)} ms", flush=True
        )
    results["feed"] = rows
    out.append(
        "### 3. Change feed: insert → subscriber callback\n\n"
        f"nbrealtime: {changefeed.INSERTERS} inserter processes POST `/rest/v1/bench_events` (service_role key, "
        f"`return=minimal`, ≤ {changefeed.IN_FLIGHT} keep-alive connections each, the minimal HTTP/1.1 client of "
        "`bench/rawhttp.py`) until the official realtime client's `postgres_changes` callback in another process. "
        "The first rows prove the driver's headroom: the same inserters against a no-op endpoint (latency = POST round "
        "trip). Floors: NOTIFY → LISTEN and INSERT + trigger `pg_notify` → LISTEN (asyncpg), with fsync off and at "
        "the embedded server's durability (fsync, full-page writes, synchronous commit on; it commits every "
        f"request with SQLite `synchronous=FULL`). {note}\n\n"
        + table(
            [
                "system",
                "target /s",
                "achieved /s",
                "samples",
                "lost",
                "p50 ms",
                "p99 ms",
                "of which the write, p50 ms",
                "p50 ÷ INSERT + NOTIFY, fsync on",
            ],
            rows,
        )
    )


def run_optimistic(plan: Plan, out: list[str], results: dict) -> None:
    r = optimistic.measure(plan.optimistic_updates)
    results["optimistic"] = r
    if r.summary is None:
        rows = [[r.rows, "—", "—", "—", r.note]]
    else:
        rows = [[r.rows, r.updates, f"{r.summary.p50 * 1000:.1f}", f"{r.summary.p99 * 1000:.1f}", r.note]]
    print(f"  optimistic {rows[0]}", flush=True)
    out.append(
        "### 4. Optimistic view\n\n"
        "`OptimisticStore.apply_local(update)` then reading the row back from the view, on a store loaded with "
        "10,000 rows (each write confirmed afterwards, untimed). The LiveTable object around it is not in the path "
        "yet.\n\n" + table(["rows", "updates", "p50 µs", "p99 µs", "what"], rows)
    )


def run_scale(plan: Plan, server, out: list[str], results: dict) -> None:
    r = scale.measure_connections(server, plan.connections, plan.heartbeat_seconds)
    print(f"  scale {r}", flush=True)
    joiners = []
    for edits in plan.late_edits:
        j = scale.measure_late_joiner(server, edits)
        print(f"  late joiner {j}", flush=True)
        joiners.append(j)
    results["scale"] = (r, joiners)
    rows = [
        [f"server RSS per idle connection ({r.connections:,} open)", f"{r.kib_per_connection:.1f} KiB"],
        [
            f"… per connection with one channel joined each ({r.connections:,})",
            f"{r.kib_per_joined_connection:.1f} KiB",
        ],
        [
            f"heartbeat reply p50 / p99, {r.connections:,} idle connections held",
            f"{fmt_ms(r.heartbeat_idle.p50)} / {fmt_ms(r.heartbeat_idle.p99)} ms ({r.heartbeat_idle.count} beats)",
        ],
        [
            f"… while a room of {scale.BUSY_MEMBERS} gets {scale.BUSY_RATE:.0f} broadcasts/s",
            f"{fmt_ms(r.heartbeat_busy.p50)} / {fmt_ms(r.heartbeat_busy.p99)} ms ({r.heartbeat_busy.count} beats)",
        ],
    ]
    for j in joiners:
        rows.append(
            [
                f"late joiner: `room.cell()` with {j.edits:,} edits (snapshot {j.snapshot_bytes / 1024:.0f} KiB + "
                f"{j.tail_rows} log rows)",
                f"{j.seconds * 1000:.0f} ms",
            ]
        )
    if 100_000 not in plan.late_edits:
        rows.append(["late joiner with 100,000 edits", "full run only"])
    out.append(
        "### 5. Scale\n\n"
        "Raw protocol clients in two processes; RSS from /proc/PID/status. Late joiner: a fresh kernel process "
        "connects (untimed), then `room.cell(name)` is timed; the history is stored as the product leaves it "
        "(snapshot + a tail of log rows, 5 edits a row).\n\n" + table(["measure", "value"], rows)
    )


def run_browser(plan: Plan, server, out: list[str], results: dict) -> None:
    from tests.browser.harness import HarnessError

    try:
        rows = browser_latency.measure(server, plan.keystrokes, plan.table_edits)
    except HarnessError as error:
        print(f"  browser: not measured — {error}", flush=True)
        out.append(f"### 6. Keystroke to screen in a real browser\n\nNot measured: {error}")
        return
    results["browser"] = rows
    reference = {(r.direction, r.kernel): r.summary for r in rows if r.system == "jupyter-collaboration"}
    table_rows = []
    for r in rows:
        s, ref = r.summary, reference.get((r.direction, r.kernel))
        if s is None:
            table_rows.append([r.system, r.direction, r.kernel, "—", "—", "—", "—", "—", "—", "—", r.note])
            continue
        ratio = "—"
        if ref is not None and r.system == "nbrealtime shared cell":
            ratio = f"{fmt_ratio(s.p50 / ref.p50)} / {fmt_ratio(s.p99 / ref.p99)}"
        table_rows.append(
            [
                r.system,
                r.direction,
                r.kernel,
                fmt_ms(s.p50),
                fmt_ms(s.p90),
                fmt_ms(s.p99),
                fmt_ms(s.max),
                s.count,
                s.lost,
                ratio,
                r.note,
            ]
        )
    out.append(
        "### 6. Keystroke to screen in a real browser (ms)\n\n"
        "Debian Chromium (headless, Playwright), one JupyterLab with jupyter-collaboration switched on, two browser "
        "contexts (A = alice, B = bob). One clock for both pages (`performance.timeOrigin + performance.now()`): the "
        "typing page stamps each keydown; on the other page a MutationObserver sees the editor's document grow and "
        f"the time is taken in the next animation frame. {plan.keystrokes} letters per row at "
        f"{1 / browser_latency.INTERVAL:.0f}/s at the end of the first line; *busy*: the typist's kernel runs "
        "`time.sleep` the whole time (jupyter-collaboration: the notebook's one kernel). nbrealtime's shared cell is "
        "`room.cell()` in each person's own notebook (edits on the browser's own realtime socket); "
        "jupyter-collaboration is both people in one notebook, typing in its first cell. The floor is the same probe "
        "on a local echo in one page (keydown → input → mirror element → next frame, no network): what the driver "
        f"and the rendering add by themselves. Live table: {plan.table_edits} edits of a row's title in alice's "
        "table, Enter → the new title in bob's table.\n\n"
        + table(
            [
                "system",
                "direction",
                "typist's kernel",
                "p50",
                "p90",
                "p99",
                "max",
                "samples",
                "lost",
                "÷ jupyter-collaboration p50 / p99",
                "note",
            ],
            table_rows,
        )
    )


def run_kernel(plan: Plan, server, out: list[str], results: dict) -> None:
    stages = kernel_cost.measure(server, plan.kernel_idle_seconds)
    results["kernel"] = stages
    rows = []
    for s in stages:
        print(f"  kernel {s}", flush=True)
        tick = 100 * 0.01 / plan.kernel_idle_seconds  # one 10 ms clock tick over the window, in %
        cpu = f"{s.cpu_percent:.2f} %" if s.cpu_percent else f"< {tick:.2f} % (no tick)"
        rows.append([s.name, s.connections, s.threads, f"{s.rss_kib / 1024:.1f}", cpu])
    out.append(
        "### 7. A kernel's own cost\n\n"
        "A spawned Python process stands for the kernel (no ipykernel around it: the numbers are nbrealtime's own). "
        "Stage by stage it imports nbrealtime, joins one room, then opens 3 live tables (collections) and 2 shared "
        f"cells in that room; at each stage it sits idle for {plan.kernel_idle_seconds:g} s while its /proc entry is "
        "read: established TCP connections, threads, RSS, CPU time over the idle window (in % of one core; the "
        "kernel counts CPU time in 10 ms ticks).\n\n"
        + table(["stage", "TCP connections", "threads", "RSS MiB", "idle CPU"], rows)
    )


def run_classroom(plan: Plan, server, out: list[str], results: dict) -> None:
    measured = [classroom.measure(server, size, plan.classroom_seconds) for size in plan.classroom_sizes]
    results["classroom"] = measured
    rows = []
    for r in measured:
        print(f"  classroom {r}", flush=True)
        before, after = r.server_rss_kib
        rows.append(
            [
                r.viewers,
                r.processes,
                f"{fmt_ms(r.cell.p50)} / {fmt_ms(r.cell.p99)}",
                f"{fmt_ms(r.table.p50)} / {fmt_ms(r.table.p99)}",
                f"{r.cell.count:,} / {r.table.count:,}",
                f"{r.cell.lost} / {r.table.lost}",
                f"{r.server_cpu_us_per_delivery:.0f}",
                f"{before / 1024:.1f} → {after / 1024:.1f}",
                f"{r.viewer_process_rss_kib / 1024:.0f} ({r.viewers / r.processes:.0f} viewers)",
                f"{r.presenter_rss_kib / 1024:.0f}",
            ]
        )
    out.append(
        "### 8. Classroom: one presenter, a room of viewers\n\n"
        f"The presenter (one kernel process) appends a character to a shared cell {classroom.RATE:.0f}×/s for "
        f"{plan.classroom_seconds:g} s and every {classroom.TABLE_EVERY}th keystroke inserts a row into a live table; "
        f"each viewer is its own room (websocket, presence, the cell and the table open), up to "
        f"{classroom.VIEWERS_PER_PROCESS} viewers a process. Latency from just before the presenter's write to the "
        f"viewer's callback (first {classroom.WARMUP} keystrokes not counted). Server CPU per delivery: the server's "
        "CPU time over the typing phase ÷ (cell + table deliveries).\n\n"
        + table(
            [
                "viewers",
                "viewer processes",
                "cell p50 / p99 ms",
                "table p50 / p99 ms",
                "deliveries cell / table",
                "lost cell / table",
                "server CPU µs / delivery",
                "server RSS MiB before → after",
                "RSS MiB per viewer process",
                "presenter kernel RSS MiB",
            ],
            rows,
        )
    )


def _stamped(block: str, stamp: str) -> str:
    """A section's block with when it ran and the load around it under its title (sections are kept between runs)."""
    title, _, rest = block.partition("\n\n")
    return f"{title}\n\n{stamp}\n\n{rest}"


def _ver(name: str) -> str:
    import importlib.metadata

    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return importlib.metadata.version(name)
    return "?"


# ---------------------------------------------------------------------------------------------- outputs


def plot(results: dict, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = results["latency"]
    ns = sorted({n for _, n in measured})
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    colors = {"nbrealtime": "tab:blue", "pycrdt-websocket": "tab:orange", "relay": "tab:gray"}
    for system in edit_latency.SYSTEMS:
        p50 = [measured[(system, n)].summary.p50 for n in ns]
        p99 = [measured[(system, n)].summary.p99 for n in ns]
        ax.plot(ns, p50, "o-", color=colors[system], label=f"{system} p50")
        ax.plot(ns, p99, "s--", color=colors[system], alpha=0.6, label=f"{system} p99")
    ax.axhline(10, color="tab:red", linestyle=":", linewidth=1, label="target: p99 < 10 ms at N = 50")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("collaborators N (1 writer + N−1 readers)")
    ax.set_ylabel("edit → remote callback latency (ms)")
    ax.set_title(f"Shared-cell edit latency, 1 char at {edit_latency.RATE:.0f} edits/s, loopback")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _sections(text: str) -> tuple[str, dict[str, str]]:
    """The header of a results text and its ``### N.`` blocks by number."""
    head, *blocks = text.split("\n### ")
    return head.strip(), {block.split(".", 1)[0]: "### " + block.strip() for block in blocks}


def plot_browser(rows: list, path: Path) -> None:
    """The keystroke-to-screen distributions (CDF), idle and busy kernel side by side."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), dpi=120, sharey=True)
    styles = {"A → B": "-", "B → A": "--", "same page": ":"}
    colors = {"nbrealtime shared cell": "tab:blue", "jupyter-collaboration": "tab:orange"}
    for ax, kernel in zip(axes, ("idle", "busy"), strict=True):
        for r in rows:
            if r.summary is None or not r.summary.values or (r.kernel not in (kernel, "—")):
                continue
            if r.system.startswith("nbrealtime live table") and kernel == "busy":
                continue
            values = sorted(r.summary.values)
            fraction = [(i + 1) / len(values) for i in range(len(values))]
            color = colors.get(r.system, "tab:gray" if r.system.startswith("floor") else "tab:green")
            ax.step(values, fraction, where="post", color=color, linestyle=styles.get(r.direction, "-"),
                    label=f"{r.system} {r.direction}")  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("keydown → shown on the other page (ms)")
        ax.set_title(f"typist's kernel {kernel}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    axes[0].set_ylabel("fraction of keystrokes")
    fig.suptitle("Keystroke to screen, Chromium, two browser contexts, one clock")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_readme(report: str) -> None:
    """Replace the results of the sections this run measured; the other sections keep their latest results."""
    path = BENCH / "README.md"
    text = path.read_text() if path.exists() else ""
    head = text.split(RESULTS_MARK)[0].rstrip() if RESULTS_MARK in text else text.rstrip()
    _, kept = _sections(text.split(RESULTS_MARK)[1]) if RESULTS_MARK in text else ("", {})
    header, blocks = _sections(report)
    merged = {**kept, **blocks}
    body = "\n\n".join(merged[number] for number in sorted(merged, key=int))
    path.write_text(f"{head}\n\n{RESULTS_MARK}\n\n{header}\n\n{body}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about a minute: fewer edits, shorter phases")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)")
    parser.add_argument("--write", action="store_true", help="write README.md and latency.png after a quick run")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    sections = args.only or list(SECTIONS)
    raise_fd_limit()
    started = time.monotonic()
    header = [*machine_header(), f"run: {plan.name} ({', '.join(sections)}), load average at start {_loadavg()}"]
    print("\n".join(header), flush=True)
    out: list[str] = []
    results: dict = {}
    with bench_server() as server:
        runners = {
            "latency": lambda: run_latency(plan, server, out, results),
            "fanout": lambda: run_fanout(plan, server, out, results),
            "feed": lambda: run_feed(plan, server, out, results),
            "optimistic": lambda: run_optimistic(plan, out, results),
            "scale": lambda: run_scale(plan, server, out, results),
            "browser": lambda: run_browser(plan, server, out, results),
            "kernel": lambda: run_kernel(plan, server, out, results),
            "classroom": lambda: run_classroom(plan, server, out, results),
        }
        for section in SECTIONS:
            if section in sections:
                section_started = time.monotonic()
                load, first, at = _loadavg(), len(out), time.strftime("%Y-%m-%d %H:%M", time.gmtime())
                runners[section]()
                took = time.monotonic() - section_started
                stamp = (
                    f"*{plan.name} run of {at} UTC, {took:.0f} s, load average {load} at start, {_loadavg()} at end*"
                )
                out[first:] = [_stamped(block, stamp) for block in out[first:]]
                print(f"  ({section}: {took:.0f} s)", flush=True)
    elapsed = time.monotonic() - started
    header.append(f"took {elapsed:.0f} s; load average at end {_loadavg()} (shared machine: other work may run)")
    report = "\n".join(f"- {line}" for line in header) + "\n\n" + "\n\n".join(out)
    print("\n" + report, flush=True)
    write = (not args.quick or args.write) and not args.no_write
    if write:
        if "latency" in results:
            plot(results, BENCH / "latency.png")
        if "browser" in results:
            plot_browser(results["browser"], BENCH / "browser.png")
        write_readme(report)
        print(f"\nwrote {BENCH / 'README.md'} and the plots of the sections run")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
