"""Keeps one context's runaway memory use from taking the machine down.

A run that allocates without end would get the whole machine killed from outside.
While a run is under way its interpreter's session (the kernel and every process it
started) is measured a few times a second and killed once it holds more than most of
the machine's memory; the context then reports that it was restarted. A limit on
address space would not do: the scientific stack reserves far more than it uses.
"""

import os
import signal

SHARE = 0.75  # of the machine's memory one context may hold


def memory_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def session_rss(sid):
    """Resident bytes of the processes in session sid."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[3]) != sid:  # session id (field 6 of stat)
                continue
            with open("/proc/%s/status" % name) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError, IndexError):
            continue
    return total


def over_limit(sid):
    """Kills session sid when it holds more than its share; returns the limit then."""
    limit = int(memory_total() * SHARE)
    if sid and limit and session_rss(sid) > limit:
        try:
            os.killpg(sid, signal.SIGKILL)
        except OSError:
            pass
        return limit
    return 0
