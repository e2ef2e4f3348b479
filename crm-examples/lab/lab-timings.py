#!/usr/bin/python3
# lab-timings.py - how much of a failover the agents took, from the nodes' pacemaker.log.
#
#   lab-timings.py T0 T1 LOG...       T0, T1: the fault and the service's return (epoch seconds)
#
# Counts, for lines logged between T0 and T1 (one second of slack at the end):
#   resource agents  pacemaker-execd's "RSC ACTION (call N, PID P) exited with status S
#                    (execution time Xms)" lines: start, stop, promote, demote, notify ... of
#                    every resource (recurring monitors are not logged and not counted)
#   fence agents     pacemaker-fenced's "Requesting that NODE perform 'ACTION' action targeting
#                    TARGET using DEV" up to "Operation 'ACTION' [P] targeting TARGET using DEV
#                    returned RC", minus the configured delay ("Delaying ... for Ns"): the
#                    agent's own time, failed attempts (an unreachable BMC) included
# Prints one line: "agents_ms=A rsc_ms=R fence_ms=F ops=N fence_ops=M".
# Log times have no year: the year of T0 is assumed.
import re
import sys
import time

t0, t1 = float(sys.argv[1]), float(sys.argv[2]) + 1.0
year = time.gmtime(t0).tm_year
stamp = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d)(\.\d+)? ")
execd = re.compile(r"pacemaker-execd .* exited with status \S+ \(execution time (\d+)ms")
request = re.compile(r"Requesting that \S+ perform '(\w+)' action targeting (\S+) using (\S+)")
delaying = re.compile(r"Delaying '(\w+)' action targeting (\S+) using (\S+) for (\d+)s")
finished = re.compile(r"Operation '(\w+)' \[\d+\] targeting (\S+) using (\S+) returned (-?\d+)")


def when(line):
    m = stamp.match(line)
    if not m:
        return None
    t = time.strptime("%d %s" % (year, m.group(1)), "%Y %b %d %H:%M:%S")
    # log times are the node's local time, which is the host's: mktime reads them as such
    return time.mktime(t) + float(m.group(2) or 0)


rsc_ms = fence_ms = ops = fence_ops = 0
for path in sys.argv[3:]:
    pending = {}
    try:
        lines = open(path, errors="replace").readlines()
    except OSError:
        continue
    for line in lines:
        t = when(line)
        if t is None or t < t0 - 120 or t > t1:
            continue
        m = execd.search(line)
        if m and t >= t0:
            rsc_ms += int(m.group(1))
            ops += 1
            continue
        m = request.search(line)
        if m:
            pending[m.groups()] = [t, 0.0]
            continue
        m = delaying.search(line)
        if m and m.groups()[:3] in pending:
            pending[m.groups()[:3]][1] = float(m.group(4))
            continue
        m = finished.search(line)
        if m and m.groups()[:3] in pending:
            start, delay = pending.pop(m.groups()[:3])
            if t >= t0:
                fence_ms += max(0, int((t - start - delay) * 1000))
                fence_ops += 1
print("agents_ms=%d rsc_ms=%d fence_ms=%d ops=%d fence_ops=%d"
      % (rsc_ms + fence_ms, rsc_ms, fence_ms, ops, fence_ops))
