"""CPU time by whom: this process, a given one, the database and Redis, and the whole machine (others' programs)."""
from __future__ import annotations

import time

import psutil


def own_cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def process_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.NoSuchProcess:
        return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores), excluding idle and iowait."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


def wait_for_quiet(max_wait: float = 120.0, threshold_cores: float = 0.3, window: float = 2.0) -> dict:
    """Other programs share this machine: wait (bounded) until they use less than
    ``threshold_cores`` of CPU over a ``window``; returns what was seen."""
    start = time.monotonic()
    busy = None
    while True:
        b0 = machine_busy_seconds()
        time.sleep(window)
        busy = (machine_busy_seconds() - b0) / window
        if busy < threshold_cores or time.monotonic() - start > max_wait:
            break
    waited = time.monotonic() - start
    quiet = busy < threshold_cores
    if not quiet:
        print(f"  warning: machine still busy ({busy:.2f} cores used by other programs) after {waited:.0f} s",
              flush=True)
    return {"waited_s": round(waited, 1), "busy_cores_before": round(busy, 2), "quiet": quiet}


def _is_redis_of(proc_info: dict, redis_port: int | None, redis_pids: set[int]) -> bool:
    """A Redis server of the run: its own (embedded: by pid) or the one listening on REDIS_URL's port."""
    if proc_info["pid"] in redis_pids:
        return True
    if redis_port is None or not (proc_info.get("name") or "").startswith("redis-server"):
        return False
    return f":{redis_port}" in " ".join(proc_info.get("cmdline") or [])


def _is_backend_of(proc_info: dict, database: str | None) -> bool:
    """A PostgreSQL backend serving ``database`` (its title: ``postgres: <user> <database> <host> <state>``;
    an autovacuum worker's ends with the database)."""
    if not database or not (proc_info.get("name") or "").startswith("postgres"):
        return False
    title = " ".join(proc_info.get("cmdline") or []) + " "
    return f" {database} " in title


def services_cpu_snapshot(database: str | None = None, redis_port: int | None = None,
                          redis_pids: set[int] | frozenset = frozenset()) -> dict[int, float]:
    """CPU seconds so far of the run's Redis server and of the PostgreSQL backends serving ``database``."""
    snap = {}
    for proc in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        times = proc.info.get("cpu_times")
        if times is None:
            continue
        if _is_redis_of(proc.info, redis_port, set(redis_pids)) or _is_backend_of(proc.info, database):
            snap[proc.pid] = times.user + times.system
    return snap


def services_cpu_delta(before: dict[int, float], database: str | None = None, redis_port: int | None = None,
                       redis_pids: set[int] | frozenset = frozenset()) -> float:
    """CPU seconds the run's Redis server and ``database``'s backends used since the ``before``
    snapshot (backends that ended meanwhile are missed: ``OurServices`` samples them)."""
    after = services_cpu_snapshot(database, redis_port, redis_pids)
    return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


class OurServices:
    """CPU our storage spent during a phase: the PostgreSQL backends serving our database and the
    Redis server we talk to count as ours, not as other programs' load.

    A snapshot at each end misses the backends that started or ended in between (a web process
    that opens connections beyond its pool closes them again): their CPU would be booked as other
    programs'. So a thread samples every process of the PostgreSQL server every ``interval``,
    remembering each backend's last CPU time; what ended unseen (after its last sample, or between
    two samples) is read from the postmaster's reaped-children CPU and shared among databases by
    how many new sessions each opened (``pg_stat_database.sessions``). New backends per phase are
    reported: those seen starting, and the sessions counted by PostgreSQL.
    """

    def __init__(self, database: str | None, redis_port: int | None = None, redis_pids=(), sessions=None,
                 interval: float = 0.1):
        self.database = database
        self.redis_port = redis_port
        self.redis_pids = set(p for p in redis_pids if p)
        self.sessions = sessions  # () -> (ours, all databases') sessions so far, or None
        self.interval = interval
        self.postmaster: psutil.Process | None = None
        self._stop = None
        self._thread = None

    def _find_postmaster(self) -> psutil.Process | None:
        for proc in psutil.process_iter(["pid", "name", "cmdline"]):
            if _is_backend_of(proc.info, self.database):
                try:
                    return proc.parent()
                except psutil.Error:
                    return None
        return None

    def _sample(self) -> None:
        now_seen = {}
        for proc in psutil.process_iter(["pid", "name", "cmdline", "cpu_times", "create_time"]):
            info = proc.info
            times = info.get("cpu_times")
            if times is None:
                continue
            ours_pg = _is_backend_of(info, self.database)
            redis = _is_redis_of(info, self.redis_port, self.redis_pids)
            is_pg = self.postmaster is not None and (info.get("name") or "").startswith("postgres") \
                and info["pid"] != self.postmaster.pid
            if not (ours_pg or redis or is_pg):
                continue
            cpu = times.user + times.system
            now_seen[info["pid"]] = cpu
            key = info["pid"]
            born_here = self.started and info.get("create_time", 0) >= self.t0_epoch - 0.05
            if key not in self.first:
                self.first[key] = 0.0 if born_here else cpu
                self.kind[key] = "ours" if ours_pg else "redis" if redis else "other_pg"
            elif ours_pg:
                self.kind[key] = "ours"  # a new backend's title names its database once it is set up
            if ours_pg and born_here:
                self.born.add(key)
            self.last[key] = cpu
        self.alive = set(now_seen)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except psutil.Error:
                pass

    def start(self) -> "OurServices":
        import threading

        self.postmaster = self._find_postmaster() if self.database else None
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self.alive: set[int] = set()
        self.born: set[int] = set()
        self.started = False
        self.t0_epoch = time.time()
        self._sample()
        self.started = True
        self.initial = set(self.alive)
        self.reaped0 = self._reaped()
        self.sessions0 = self.sessions() if self.sessions else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-services-cpu", daemon=True)
        self._thread.start()
        return self

    def _reaped(self) -> float:
        if self.postmaster is None:
            return 0.0
        try:
            t = self.postmaster.cpu_times()
            return t.children_user + t.children_system
        except psutil.Error:
            return 0.0

    def stop(self) -> dict:
        """What the phase cost: ``cpu_s`` (ours in all) and its parts, new backends."""
        self._stop.set()
        self._thread.join()
        self._sample()
        used = {pid: max(0.0, self.last[pid] - self.first[pid]) for pid in self.last}
        ours_pg = sum(v for pid, v in used.items() if self.kind[pid] == "ours")
        redis = sum(v for pid, v in used.items() if self.kind[pid] == "redis")
        # Ended meanwhile: the postmaster's reaped children, less what the samples saw of them.
        ended = [pid for pid in self.last if pid not in self.alive and self.kind[pid] != "redis"]
        unseen = max(0.0, (self._reaped() - self.reaped0) - sum(self.last[pid] for pid in ended))
        result = {"postgres_backends_cpu_s": round(ours_pg, 3), "redis_cpu_s": round(redis, 3),
                  "postgres_ended_unseen_cpu_s": round(unseen, 3),
                  "postgres_backends_started_seen": len(self.born),
                  "postgres_backends_ended": sum(1 for pid in ended if self.kind[pid] == "ours")}
        share = 1.0
        if self.sessions0 is not None:
            ours1, all1 = self.sessions()
            ours_new, all_new = ours1 - self.sessions0[0], all1 - self.sessions0[1]
            result["postgres_new_sessions"] = ours_new
            result["postgres_new_sessions_all_databases"] = all_new
            share = ours_new / all_new if all_new > 0 else 0.0
        result["postgres_ended_unseen_cpu_s_ours"] = round(unseen * share, 3)
        result["cpu_s"] = round(ours_pg + redis + unseen * share, 3)
        return result


def pg_sessions(database_url: str, database: str | None):
    """``() -> (our database's sessions, all databases' sessions)`` from ``pg_stat_database``
    (PostgreSQL 14+) over a connection of its own, None for SQLite or an older server."""
    if not database or not database_url.startswith("postgres"):
        return None
    import psycopg

    conn = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    query = ("SELECT coalesce(sum(sessions) FILTER (WHERE datname = %s), 0), coalesce(sum(sessions), 0) "
             "FROM pg_stat_database")

    def read():
        conn.execute("SELECT pg_stat_clear_snapshot()")
        ours, everyone = conn.execute(query, (database,)).fetchone()
        return int(ours), int(everyone)

    try:
        read()
    except psycopg.Error:  # before PostgreSQL 14: new backends are then only those seen
        conn.close()
        return None
    return read
