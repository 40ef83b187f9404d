"""The heavy stages of a build on a Dask cluster (``punchcard build --scheduler ADDRESS``).

The cluster runs the work that grows with the rows; this process (the client) merges the
partial results and runs the fit, the forecast and the render as a local build does, so
the site is the same bytes (docs/scale.md). The tasks, one per file or partition:

1. **read** (per sales file): the file read and parsed as the ingest stage reads it, its
   rows split into row partitions (``ingest.partitions.read_file``);
2. **classify** (per row partition): rows classified, examples picked, transactions
   formed and split into customer partitions, each a set of whole customer-hash shards
   (``ingest.partitions.classify_rows``);
3. **key** (per customer partition): the partition's ledger (``ingest.partitions.customer_ledger``);
4. **analyse** (per customer partition): every scheme replayed shard by shard, the
   model's per-customer summary, the descriptions' per-customer figures and per-shard
   sums (``analyse_task``);
5. **merge** (here): per-customer figures back to their customers, per-shard sums added
   in shard order as a local build adds them (``_Merged``); then the backtest figures,
   the fit, the forecast and the render.

Only small results come back here: counts, examples, sorted customer ids (to key the
customers as the whole ledger does) and per-customer arrays; the rows move between
workers. Dask is the optional extra ``punchcard[dask]``: only this module imports it,
and only a build given a scheduler imports this module. Dask reschedules the tasks of a
worker that is lost; a task that fails fails the build with its error, before anything
is written.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from punchcard import __version__
from punchcard.errors import PunchcardError
from punchcard.ingest import InputFile
from punchcard.ingest.sources import FILE_SHIFT
from punchcard.progress import Reporter

#: Bytes of sales files per partition (at least one partition per worker): about 4M rows
#: of a typical export. The results do not depend on the number of partitions.
PARTITION_BYTES = 160 << 20
#: At most this many row partitions: every row partition hands a piece to every customer
#: partition (k × m tasks), so beyond ~80 GB of sales files the partitions grow instead.
MAX_PARTITIONS = 512


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # pragma: no cover - called outside a worker
        return "this process"


def _check_worker(versions: tuple[str, str]) -> None:
    """Raise when this worker runs another punchcard or Polars than the client (partitions would disagree)."""
    import polars as pl

    mine = (__version__, pl.__version__)
    if tuple(versions) != mine:
        raise PunchcardError(
            f"The Dask worker {_worker_address()} runs punchcard {mine[0]} with Polars {mine[1]}, "
            f"this client punchcard {versions[0]} with Polars {versions[1]}. Fix: install the same "
            "versions on the workers as here (pip install -c constraints.txt 'punchcard[dask]').")


def read_task(path: str, index: int, n_files: int, sales, base, partitions: int,
              versions: tuple[str, str]) -> tuple:
    """Read one sales file on a worker (``ingest.partitions.read_file``): a URL fetched through
    fsspec first, a local path checked to be visible here."""
    _check_worker(versions)
    import tempfile

    from punchcard.ingest.partitions import fetch, read_file
    from punchcard.program import is_url

    if is_url(path):
        with tempfile.TemporaryDirectory(prefix="punchcard-fetch-") as tmp:
            local, digest = fetch(path, Path(tmp))
            info, pieces = read_file(local, index, n_files, sales, base, partitions, label=path)
        return dataclasses.replace(info, sha256=digest), pieces
    _visible(path, base)
    return read_file(Path(path), index, n_files, sales, base, partitions)


def _visible(path: str, base) -> None:
    """Raise when a local sales file cannot be seen on this worker."""
    from punchcard.ingest.sources import label_of

    if not Path(path).exists():
        raise PunchcardError(
            f"{label_of(Path(path), base)}: the Dask worker {_worker_address()} cannot see this "
            "sales file. Every worker reads sales files itself, so a local path must name the same "
            "file on every machine of the cluster. Fix: put the files on a file system all workers "
            "mount at the same path, give them as URLs (s3://…; docs/scale.md), or build without "
            "--scheduler.")


def url_task(url: str, versions: tuple[str, str]) -> list[tuple[str, int]]:
    """Return the files a URL names, with their sizes, listed through fsspec on a worker (which
    has the credentials): a URL with ``*``, ``?`` or ``[…]`` in its path is a glob, its
    matches sorted as a local glob's are; no match is an error."""
    _check_worker(versions)
    import glob

    from punchcard.ingest.partitions import url_error

    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise PunchcardError(f"{url}: reading sales files by URL needs fsspec on the workers. "
                             "Fix: pip install 'punchcard[dask]' there.") from None
    try:
        fs, path = url_to_fs(url)
        if glob.has_magic(path):
            out = [(fs.unstrip_protocol(p), int(fs.size(p))) for p in sorted(fs.glob(path))]
        else:
            out = [(url, int(fs.size(path)))]
    except (ImportError, OSError, ValueError) as exc:
        raise url_error(url, exc) from None
    if not out:
        raise PunchcardError(f"{url}: no file matches this pattern. Fix: correct the URL in "
                             "`sales.path`, and check the workers' credentials can list its folder.")
    return out


def plan_task(path: str, sales, base, range_bytes: int, versions: tuple[str, str]):
    """Return how to read one large local file in byte ranges (``ingest.partitions.plan_ranges``),
    or None to read it whole (an error preparing it is left to the whole file's read)."""
    _check_worker(versions)
    from punchcard.ingest.partitions import plan_ranges

    _visible(path, base)
    try:
        return plan_ranges(Path(path), sales, base, range_bytes)
    except PunchcardError:
        return None


def range_task(path: str, index: int, n_files: int, sales, base, partitions: int, plan, r: int,
               versions: tuple[str, str]) -> tuple:
    """Read byte range ``r`` of a planned file (``ingest.partitions.read_range``)."""
    _check_worker(versions)
    from punchcard.ingest.partitions import read_range

    _visible(path, base)
    src, header, ranges = plan
    return read_range(Path(path), index, n_files, sales, base, partitions, src, header, *ranges[r])


def range_bytes() -> int:
    """Return the bytes of one large file's read tasks: ``PUNCHCARD_RANGE_BYTES``, else
    ``ingest.partitions.RANGE_BYTES``."""
    import os

    from punchcard.ingest.partitions import RANGE_BYTES

    value = os.environ.get("PUNCHCARD_RANGE_BYTES", "").strip()
    if not value:
        return RANGE_BYTES
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 4096:
        raise PunchcardError(f"PUNCHCARD_RANGE_BYTES={value!r}: the bytes of a large file that one "
                             "Dask task reads must be a whole number of at least 4096. Fix: set "
                             "it so (e.g. 268435456 for 256 MiB), or unset it.")
    return size


def _item(value, *index):
    """Return ``value[i][j]…``: a task's result, or a piece of it, kept on the worker that has it."""
    for i in index:
        value = value[i]
    return value


def analyse_task(ledger, program, dates: dict, q: int, partitions: int) -> dict | None:
    """Return customer partition q's share of every figure: replays, the model summary, descriptions.

    The partition holds the shards s with s % partitions == q (``dates["shards"]`` in
    all); each is replayed on its own, and every sum across customers is kept per shard,
    so that the client adds the shards in shard order as a local build does. ``dates``:
    the whole data's start and end day, the model summary's first day and calibration
    end, the longest gap between two days and the span of days of any row.
    """
    if ledger is None:
        return None
    from punchcard.forecast import btyd as M
    from punchcard.results.describe import data_sums, gap_counts, month_sums, per_customer
    from punchcard.schemes import backtest, replay
    from punchcard.schemes.shard import plan_shards

    k = dates["shards"]
    ledger = dataclasses.replace(ledger, start_day=dates["start"], end_day=dates["end"])
    b = backtest.base(ledger, k)
    own = [s for s in range(k) if s % partitions == q]
    plan = plan_shards(b.tx, backtest.context(b, 0.0, 0.0), k)
    replays = {}
    for scheme in program.schemes:
        ctx = backtest.context(b, program.business.gross_margin, scheme.assumptions.redemption_rate.mean)
        replays[scheme.id] = [replay(scheme, plan.parts[s], dataclasses.replace(ctx, **plan.fields[s]),
                                     per_tx=False) for s in own]
    return {
        "shards": own,
        "shard_ids": [plan.ids[s] for s in own],  # the partition's keys of each shard's customers
        "replays": replays,
        "summary": M.summarise_arrays(b.tx.cust, b.tx.day, b.tx.amount, b.tx.items, b.tx.n_customers,
                                      dates["day0"], dates["end"], dates["cal_end"]),
        "per_customer": per_customer(ledger),
        "gaps": gap_counts(ledger, dates["longest"]),
        "months": month_sums(ledger, *dates["span"], shards=k) if dates["span"] else None,
        "sums": data_sums(ledger, k),
        "member": b.member, "join_day": b.join_day, "cust_revenue": b.cust_revenue,
        "cust_hash": ledger.cust_hash, "birthday_doy": ledger.birthday_doy,
    }


def example_task(paths: list[str], sales, base, picks) -> dict:
    """Return the masked lines of the picked rejected rows (``quality.example_lines``), read on a worker."""
    import tempfile

    from punchcard.ingest.quality import example_lines
    from punchcard.ingest.sources import prepare

    from punchcard.ingest.partitions import fetch
    from punchcard.program import is_url

    wanted = {pos >> FILE_SHIFT for pos in picks["__pos"].to_list()}
    with tempfile.TemporaryDirectory(prefix="punchcard-") as tmp:
        sources = []
        for i, p in enumerate(paths):
            if i not in wanted:
                sources.append(None)
                continue
            local = Path(p)
            if is_url(p):
                (Path(tmp) / str(i)).mkdir()
                local = fetch(p, Path(tmp) / str(i))[0]
            sources.append(prepare(local, sales, base, Path(tmp)))
        return example_lines(sources, picks)


def partition_count(input_bytes: int, workers: int) -> int:
    """Return how many row partitions a build uses: one per worker at least, more for large
    inputs, at most ``MAX_PARTITIONS``."""
    return min(MAX_PARTITIONS, max(workers, -(-input_bytes // PARTITION_BYTES)))


def _dates(sales, facts: list[dict], shards: int) -> dict:
    """Return the whole data's dates the partitions' figures need, from each partition's facts."""
    from punchcard.forecast.btyd import holdout_end
    from punchcard.ingest import EPOCH_ORDINAL

    def pick(key: str, f) -> int | None:
        values = [x[key] for x in facts if x[key] is not None]
        return f(values) if values else None

    first, last = pick("first", min), pick("last", max)
    ident_first, ident_last = pick("ident_first", min), pick("ident_last", max)
    start, end = sales.window if sales.window else (None, None)
    start_day = start.toordinal() - EPOCH_ORDINAL if start else int(first)
    end_day = end.toordinal() - EPOCH_ORDINAL if end else int(last)
    cal_end = holdout_end(SimpleNamespace(start_day=start_day, end_day=end_day))
    return {
        "shards": shards, "start": start_day, "end": end_day,
        "day0": min(start_day, ident_first) if ident_first is not None else start_day,
        "cal_end": end_day if cal_end is None else int(cal_end),
        "longest": int(ident_last - ident_first) if ident_first is not None else 0,
        "span": (int(first), int(last)) if first is not None else None,
    }


class _Merged:
    """The partitions' shares merged into the whole data's figures, as a local build computes them.

    Per-customer figures go back to their customers; per-shard sums to their shards; the
    anonymous transactions' sums come from partition 0, which holds them all; the
    replays' per-day series are added in shard order at the end.
    """

    def __init__(self, prog, facts: list[dict], dates: dict) -> None:
        from punchcard.ingest.partitions import global_keys

        self.prog, self.dates, self.k = prog, dates, dates["shards"]
        self.n = sum(f["customers"] for f in facts)
        self.keys = global_keys([f["ids"] for f in facts])
        self.shard_replays: dict[int, tuple[dict, np.ndarray]] = {}
        self.birthdays = any(f["birthdays"] for f in facts)
        self.per_customer: dict[str, np.ndarray] = {}
        self.summaries = []
        self.gaps = np.zeros(dates["longest"] + 1, dtype=np.int64)
        self.months: list | None = None
        self.sums: dict | None = None
        self.cust = {"member": np.zeros(self.n, dtype=bool),
                     "join_day": np.full(self.n, dates["end"] + 1, dtype=np.int32),
                     "cust_revenue": np.zeros(self.n), "cust_hash": np.zeros(self.n, dtype=np.uint64),
                     "birthday_doy": np.full(self.n, -1, dtype=np.int16)}

    def add(self, q: int, part: dict | None) -> None:
        """Merge partition q's share (None: the partition had no rows)."""
        if part is None:
            return
        keys = self.keys[q]
        own = part["shards"]
        for i, s in enumerate(own):
            self.shard_replays[s] = ({sid: reps[i] for sid, reps in part["replays"].items()},
                                     keys[part["shard_ids"][i]])
        self.summaries.append((part["summary"], keys))
        for name, target in self.cust.items():
            if part[name] is not None:
                target[keys] = part[name]
        for name, value in part["per_customer"].items():
            if name not in self.per_customer:
                self.per_customer[name] = np.zeros(self.n, dtype=value.dtype)
            self.per_customer[name][keys] = value
        self.gaps += part["gaps"]
        sums = part["sums"]
        if self.sums is None:
            self.sums = {**sums, "revenue_by_shard": np.zeros(self.k), "returns_by_shard": np.zeros(self.k),
                         "transactions": 0, "anonymous_transactions": 0, "first": None, "last": None}
        for name in ("revenue_by_shard", "returns_by_shard"):
            self.sums[name][own] = sums[name][own]
        for name in ("transactions", "anonymous_transactions"):
            self.sums[name] += sums[name]
        for name, pick in (("first", min), ("last", max)):
            if sums[name] is not None:
                self.sums[name] = sums[name] if self.sums[name] is None else pick(self.sums[name], sums[name])
        if q == 0:  # the anonymous transactions are all in partition 0
            self.sums["anonymous_revenue"] = sums["anonymous_revenue"]
            self.sums["anonymous_returns"] = sums["anonymous_returns"]
        if part["months"] is not None:
            lo, (active, new, tx, rev, anon_rev) = part["months"]
            if self.months is None:
                self.months = [lo, active * 0, new * 0, tx * 0, np.zeros_like(rev), np.zeros_like(anon_rev)]
            self.months[1] += active
            self.months[2] += new
            self.months[3] += tx
            self.months[4][own] = rev[own]
            if q == 0:
                self.months[5] = anon_rev

    def result(self, quality, inputs: tuple, visits: str):
        """Return (ledger without rows, data, customers, backtests, model summary)."""
        import polars as pl

        from punchcard.forecast import btyd as M
        from punchcard.ingest import Ledger, ordered_sum
        from punchcard.results.describe import customers_block, data_block, month_rows, per_customer
        from punchcard.schemes import backtest
        from punchcard.schemes.shard import ReplayMerge

        d, c = self.dates, self.cust
        ledger = Ledger(
            tx=pl.DataFrame(schema={"cust": pl.Int32, "day": pl.Int32, "amount": pl.Float64, "items": pl.Float64}),
            anon=pl.DataFrame(schema={"day": pl.Int32, "amount": pl.Float64, "items": pl.Float64}),
            n_customers=self.n, cust_hash=c["cust_hash"],
            birthday_doy=c["birthday_doy"] if self.birthdays else None,
            start_day=d["start"], end_day=d["end"], quality=quality, inputs=inputs, visits=visits)
        data = data_block(quality, self.n, d["start"], d["end"], self.sums, visits)
        months = month_rows(self.months[0], tuple(self.months[1:])) if self.months is not None else []
        customers = customers_block(self.per_customer or per_customer(ledger), self.gaps, months, d["end"])
        ids = np.flatnonzero(c["member"])
        # as backtest.base: the shards' revenue in shard order, then the anonymous revenue
        revenue = float(ordered_sum(self.sums["revenue_by_shard"])) + self.sums["anonymous_revenue"]
        b = backtest.Base(tx=None, off=None, member=c["member"], join_day=c["join_day"],
                          cust_revenue=c["cust_revenue"], revenue=revenue,
                          rank=ids[np.lexsort((ids, -c["cust_revenue"][ids]))],
                          start_day=d["start"], end_day=d["end"], birthday_doy=c["birthday_doy"],
                          cust_hash=c["cust_hash"])
        fixed = self.prog.business.fixed_costs
        backtests = {}
        for scheme in self.prog.schemes:
            merged = ReplayMerge(self.n, 0, d["start"])
            for s in range(self.k):  # as shard.replay_sharded: shard by shard, in order
                reps, keys = self.shard_replays[s]
                merged.add(reps[scheme.id], keys)
            rep = merged.result()
            backtests[scheme.id] = backtest.result(scheme, rep, b, fixed)
        summary = (M.merge_summaries([s for s, _ in self.summaries], [k for _, k in self.summaries], self.n)
                   if self.summaries else M.summarise(ledger, cal_end=d["cal_end"]))
        return ledger, data, customers, backtests, summary


class Engine:
    """A connection to a Dask scheduler that runs the heavy stages of each program's build."""

    def __init__(self, address: str, reporter: Reporter) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise PunchcardError(
                "--scheduler runs the build on a Dask cluster, which needs the optional extra. "
                "Fix: pip install 'punchcard[dask]' (on this machine and the workers), or build "
                "here by leaving --scheduler, PUNCHCARD_SCHEDULER and DASK_SCHEDULER_ADDRESS unset."
            ) from None
        self.address = address
        self.reporter = reporter
        try:
            # how long to try: Dask's own setting (distributed.comm.timeouts.connect, 30 s)
            self.client = Client(address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise PunchcardError(
                f"Cannot reach the Dask scheduler at {address!r} ({exc}). Fix: start a scheduler "
                f"and workers (`dask scheduler`, then `dask worker ADDRESS` on each machine; "
                "docs/scale.md), or correct --scheduler / PUNCHCARD_SCHEDULER / "
                "DASK_SCHEDULER_ADDRESS.") from None
        reporter.info(f"Dask scheduler {address}: {self._workers()} workers")

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    def _workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def analyse(self, prog, options, reporter: Reporter):
        """Return (ledger without rows, data, customers, backtests, forecast) of one program."""
        import polars as pl

        from punchcard import forecast
        from punchcard.ingest import input_bytes, shard_count
        from punchcard.ingest.partitions import classify_rows, customer_ledger
        from punchcard.ingest.quality import MAX_EXAMPLES
        from punchcard.ingest.rows import merge_day_counts

        workers = self._workers()
        if workers == 0:
            raise PunchcardError(
                f"The Dask scheduler at {self.address} has no workers. Fix: start some "
                f"(`dask worker {self.address}`), then build again.")
        paths = [str(p) for p in prog.sales.paths]
        if not paths:
            raise PunchcardError("sales: no input files. Fix `sales.path` in the program file.")
        base = prog.path.parent
        versions = (__version__, pl.__version__)
        paths, remote = self._urls(prog, paths, versions)
        size = input_bytes(p for p in paths if p not in remote) + sum(remote.values())
        shards = shard_count(size)  # as a local build of these files: the unit of every sum
        k = partition_count(size, workers)  # row partitions
        m = min(k, shards)  # customer partitions: each holds whole shards
        tag = f"{prog.id}-{uuid.uuid4().hex[:8]}"
        submit = self.client.submit
        with reporter.stage(f"{prog.id}: reading {len(paths)} sales files on the cluster"):
            reads, units, infos = self._read(prog, paths, k, versions, tag)
            has_order = any(info.has_order for info in infos)
            # as read_ledger: the lines of an order, else of a customer at one time, else one day
            times = not has_order and any(info.has_time for info in infos)
            visits = "order" if has_order else "time" if times else "date"
            days = merge_day_counts([info.days for info in infos])
            from punchcard.runtime import REMOTE

            REMOTE.update({path: info.sha256 for path, info in zip(paths, infos) if info.sha256})
            offsets = [offset for _, offset in units]
            rows = [submit(classify_rows, [submit(_item, r, 1, p, key=f"punchcard-rows-{tag}-{i}-{p}")
                                           for i, r in enumerate(reads)],
                           prog.sales, has_order, times, days, shards, m, MAX_EXAMPLES, offsets,
                           key=f"punchcard-classify-{tag}-{p}")
                    for p in range(k)]
            del reads
            ledgers = [submit(customer_ledger, [submit(_item, r, 1, q, key=f"punchcard-tx-{tag}-{p}-{q}")
                                                for p, r in enumerate(rows)],
                              prog.sales, visits, key=f"punchcard-ledger-{tag}-{q}")
                       for q in range(m)]
            accounts = self._gather([submit(_item, r, 0, key=f"punchcard-account-{tag}-{p}")
                                     for p, r in enumerate(rows)], prog.id, "classifying rows",
                                    label=f"{prog.id}: row partitions")
            del rows
            quality = self._quality(prog, paths, [info.source for info in infos], accounts, tag)
            facts = self._gather([submit(_item, led, 0, key=f"punchcard-facts-{tag}-{q}")
                                  for q, led in enumerate(ledgers)], prog.id, "keying customers")
        dates = _dates(prog.sales, facts, shards)
        with reporter.stage(f"{prog.id}: backtest of {len(prog.schemes)} schemes and the model's "
                            f"summaries over {m} customer partitions ({shards} shards) on the cluster"):
            work = [submit(analyse_task, submit(_item, led, 1, key=f"punchcard-part-{tag}-{q}"),
                           prog, dates, q, m, key=f"punchcard-analyse-{tag}-{q}")
                    for q, led in enumerate(ledgers)]
            del ledgers
            merged = _Merged(prog, facts, dates)
            self._gather(work, prog.id, "a partition", merge=merged.add, label=f"{prog.id}: partitions")
            inputs = tuple(InputFile(info.source.label, info.rows, source=path)
                           for info, path in zip(infos, paths))
            ledger, data, customers, backtests, summary = merged.result(quality, inputs, visits)
        with reporter.stage(f"{prog.id}: forecast"):
            fc = forecast.run(prog, ledger, seed=options.seed, draws=options.draws,
                              progress=reporter.step, summary=summary, stage=reporter.stage)
        return ledger, data, customers, backtests, fc

    def _urls(self, prog, paths: list[str], versions: tuple[str, str]) -> tuple[list[str], dict[str, int]]:
        """Return the sales files with every URL glob expanded, and each URL's size (listed on a
        worker, ``url_task``): a local build of the same files counts the same bytes into
        ``shard_count``."""
        from punchcard.program import is_url

        urls = [p for p in paths if is_url(p)]
        if not urls:
            return paths, {}
        listed = dict(zip(urls, self._gather(
            [self.client.submit(url_task, u, versions, key=f"punchcard-url-{uuid.uuid4().hex[:8]}") for u in urls],
            prog.id, "listing a sales file's URL")))
        out: list[str] = []
        sizes: dict[str, int] = {}
        for p in paths:
            for url, n in listed.get(p, [(p, None)]):
                if n is not None:
                    sizes[url] = n
                out.append(url)
        return out, sizes

    def _read(self, prog, paths: list[str], k: int, versions: tuple[str, str], tag: str):
        """Submit the reads of the sales files; return (the read futures, per read its file and
        its rows before it in the file, per file its ``FileRead``).

        A local CSV file larger than ``range_bytes()`` (its size seen here) is read in byte
        ranges, one task each, planned on a worker (``plan_task``); a file whose ranges cannot
        be read apart (a line break inside a quoted cell, an input error) is read again
        whole, so that it is read, and fails, as a local build reads it.
        """
        import os

        from punchcard.ingest.rows import merge_day_counts
        from punchcard.ingest.sources import label_of
        from punchcard.program import is_url

        submit, base, size = self.client.submit, prog.path.parent, range_bytes()

        def large(path: str) -> bool:
            try:
                return not is_url(path) and os.stat(path).st_size > size
            except OSError:
                return False

        big = [i for i, p in enumerate(paths) if large(p)]
        plans = dict(zip(big, self._gather([submit(plan_task, paths[i], prog.sales, base, size, versions,
                                                   key=f"punchcard-plan-{tag}-{i}") for i in big],
                                           prog.id, "planning the byte ranges of a sales file")))

        def whole(i: int):
            return submit(read_task, paths[i], i, len(paths), prog.sales, base, k, versions,
                          key=f"punchcard-read-{tag}-{i}")

        per_file: dict[int, list] = {}
        for i in range(len(paths)):
            plan = plans.get(i)
            if plan is None:
                per_file[i] = [whole(i)]
                continue
            per_file[i] = [submit(range_task, paths[i], i, len(paths), prog.sales, base, k, plan, r, versions,
                                  key=f"punchcard-range-{tag}-{i}-{r}") for r in range(len(plans[i][2]))]
        pieces = sum(len(v) for v in per_file.values())
        label = f"{prog.id}: files read" if pieces == len(paths) else f"{prog.id}: files and byte ranges read"
        if pieces > len(paths):
            self.reporter.info(f"{prog.id}: {len(paths)} sales file{'s' if len(paths) > 1 else ''} "
                               f"in {pieces} read tasks (byte ranges of {size:,} bytes)")
        flat = [(i, f) for i in range(len(paths)) for f in per_file[i]]
        got = self._gather([submit(_item, f, 0, key=f"punchcard-file-{f.key}") for _, f in flat],
                           prog.id, "reading a sales file", label=label)
        reads: dict[int, list] = {i: [] for i in range(len(paths))}
        for (i, f), info in zip(flat, got):
            reads[i].append((f, info))
        redo = [i for i, rs in reads.items() if any(info is None for _, info in rs)]
        if redo:
            self.client.cancel([f for i in redo for f, _ in reads[i]])
            for i in redo:
                self.reporter.info(f"{prog.id}: {label_of(Path(paths[i]), base)}: read whole, in one task: its byte ranges cannot "
                                   "be read apart (a line break inside a quoted cell, or an input error)")
            again = [whole(i) for i in redo]
            for i, f, info in zip(redo, again, self._gather(
                    [submit(_item, f, 0, key=f"punchcard-file-{f.key}") for f in again],
                    prog.id, "reading a sales file")):
                reads[i] = [(f, info)]
        futures, units, infos = [], [], []
        for i in range(len(paths)):
            before = 0
            for f, info in reads[i]:
                futures.append(f)
                units.append((i, before))
                before += info.rows
            first = reads[i][0][1]
            infos.append(first if len(reads[i]) == 1 else dataclasses.replace(
                first, rows=before, days=merge_day_counts([info.days for _, info in reads[i]])))
        return futures, units, infos

    def _quality(self, prog, paths: list[str], sources: list, accounts: list[dict], tag: str):
        """Return the data quality of all rows read (as ``read_ledger``), raising its errors."""
        import polars as pl

        from punchcard.ingest.quality import MAX_EXAMPLES, accounting, check_sales_figures, too_many_rejected

        sales = {k: sum(a["sales"][k] for a in accounts) for k in ("n", "sales", "total", "sold", "returned")}
        check_sales_figures(sales, sources)  # as read_ledger: before the row accounting's errors
        counts: dict[str | None, int] = {}
        for a in accounts:
            for reason, n in a["counts"].items():
                counts[reason] = counts.get(reason, 0) + n
        picks = pl.concat([pl.DataFrame(a["picks"], schema={"reason": pl.String, "__pos": pl.Int64})
                           for a in accounts])
        picks = picks.sort("__pos").group_by("reason", maintain_order=True).head(MAX_EXAMPLES)
        lines = {}
        if picks.height:
            lines = self._gather([self.client.submit(example_task, paths, prog.sales, prog.path.parent, picks,
                                                     key=f"punchcard-examples-{tag}")],
                                 prog.id, "reading example lines")[0]
        table = pl.DataFrame({"reason": list(counts), "n": list(counts.values())},
                             schema={"reason": pl.String, "n": pl.Int64})
        quality, details = accounting(table, picks, lines, sources)
        quality = dataclasses.replace(quality, used_zero_amount=sum(a["used_zero"] for a in accounts))
        if quality.rows_read == 0:
            raise PunchcardError(f"{sources[0].label}: the file has a header but no rows. "
                                 "Fix: export the sales history with its rows.")
        if quality.rows_used * 2 < quality.rows_read:
            raise too_many_rejected(quality, details)
        return quality

    def _gather(self, futures: list, program_id: str, what: str, merge=None,
                label: str | None = None) -> list:
        """Return the futures' results in order (or, with ``merge(i, result)``, merge them in order).

        Results are merged in the futures' order as soon as each one's predecessors are in,
        so the merged sums add in the same order on every run. The first task to fail
        cancels the rest and fails the build with its error.
        """
        from distributed import as_completed

        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(futures)
        ready: dict[int, object] = {}
        nxt = 0
        bar = self.reporter.counter(label, len(futures)) if label and len(futures) > 1 else None
        done = 0
        for fut in as_completed(futures, loop=self.client.loop):
            i = index[fut.key]
            if fut.status != "finished":
                exc = fut.exception() if fut.status == "error" else None
                self.client.cancel(futures)
                raise _failure(exc, program_id, what, i, len(futures)) from None
            value = fut.result()
            fut.release()
            done += 1
            if bar is not None:
                bar(done, len(futures))
            if merge is None:
                results[i] = value
                continue
            ready[i] = value
            while nxt in ready:
                merge(nxt, ready.pop(nxt))
                nxt += 1
        return results


def _failure(exc: BaseException | None, program_id: str, what: str, i: int, n: int) -> PunchcardError:
    """Return the build's error for a task that failed on the cluster."""
    if isinstance(exc, PunchcardError):
        return PunchcardError(exc.message)  # an input error reads as it does in a local build
    where = f"{program_id}: {what}" + (f" ({i + 1} of {n})" if n > 1 else "")
    if exc is None:
        return PunchcardError(f"{where} was cancelled on the Dask cluster; nothing was written. "
                              "Fix: check the scheduler's and workers' logs, then build again.")
    if type(exc).__name__ == "KilledWorker":
        return PunchcardError(
            f"{where} failed: the workers running it died repeatedly ({exc}); nothing was written. "
            "Fix: give each worker more memory (docs/scale.md: memory per worker), or look for "
            "the cause in the workers' logs.")
    return PunchcardError(
        f"{where} failed on the Dask cluster: {type(exc).__name__}: {exc}. Nothing was written. "
        "Fix the cause (the workers' logs show the traceback), or build without --scheduler "
        "to see it here.")
