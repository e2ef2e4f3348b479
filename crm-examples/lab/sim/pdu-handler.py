#!/usr/bin/python3
# pdu-handler.py - net-snmp pass_persist handler that plays a switched PDU's outlet tables.
#
#   pass_persist <vendor-subtree> /usr/bin/python3 pdu-handler.py STATE_DIR
#
# Everything the handler knows comes from STATE_DIR (the test or lab owns it):
#   pdu.env              KEY=VALUE lines, re-read before every SET (so a running PDU can be
#                        retuned): PDU_MODEL_FILE (required), PDU_OUTLETS, PDU_INITIAL_STATE (on),
#                        PDU_SWITCH_DELAY (s, 0 = switched before the SET answer), PDU_REBOOT_SECONDS (2),
#                        PDU_OFF_HOOK / PDU_ON_HOOK (sh -c command run when an off / on takes effect),
#                        PDU_DROP_SECONDS (2: how long a "dropped" answer is held back),
#                        PDU_MODULES (1: linked units sharing the table, outlets split evenly)
#   outlet-N.state       "on" / "off"; read on every GET, written on every switch
#   outlet-N.name        outlet name (default "Outlet N")
#   outlet-N.off-hook    per-outlet hook commands, run instead of PDU_OFF_HOOK / PDU_ON_HOOK
#   outlet-N.on-hook
#   ignore-commands      fault: SETs are answered noError but no relay moves (file exists;
#                        content "N M" limits it to outlets N, M)
#   drop-responses       fault: while it exists every request into the vendor subtree is answered
#                        only after PDU_DROP_SECONDS, i.e. after the client gave up
#   pdu.log              one line per SET, relay change and hook: "<epoch> set outlet=3 action=off"
#   hook.log             output of the hooks
# Hooks see PDU_OUTLET, PDU_OUTLET_NAME, PDU_ACTION (on/off), PDU_STATE_DIR and run detached.
#
# Model files (pdu-models/*.model) are data, one directive per line ('#' comments):
#   register OID | sysobjectid OID | sysdescr TEXT   used by whoever writes snmpd.conf
#   outlets N | unit U                               outlet count, value of {u}
#   status TEMPLATE on=V off=V [pendingon=V pendingoff=V cycling=V]
#   name TEMPLATE                                    outlet name column
#   const TEMPLATE TYPE VALUE                        constant cell ({n} in VALUE = table index,
#                                                    {module} / {number} = linked unit and the
#                                                    outlet's number on it)
#   pendingcol TEMPLATE yes=V no=V                   command-pending column (yes while a delayed
#                                                    command or a reboot's "on" is waiting)
#   command TEMPLATE on=V off=V [reboot=V] [read=state|read=CONST]
#   delaycmd TEMPLATE ACTION [read=CONST]            written value = delay in seconds (-1 = none)
# Command cells must be readable (snmpd GETs an OID before it passes a SET on, and answers
# notWritable when the GET finds nothing): commands read as the command value matching the current
# state unless read= says otherwise (delay commands: -1). A status column listed first keeps
# its values when the command shares its OID (sPDUOutletCtl, Eaton managed ePDU).
# TEMPLATEs use {n}, {n-1}, {n+1} and {u}; a template without {n} is a scalar.
#
# pass_persist protocol: PING/PONG; get, getnext -> OID TYPE VALUE or NONE; set -> DONE or an
# error word. snmpd 5.9 sends an empty line after each set: skipped; the handler ends on EOF.
import bisect
import os
import subprocess
import sys
import threading
import time

STATE = sys.argv[1] if len(sys.argv) > 1 else "."
LOCK = threading.RLock()


def path(name):
    return os.path.join(STATE, name)


def log(line):
    with open(path("pdu.log"), "a") as f:
        f.write("%.3f %s\n" % (time.time(), line))


def read_env():
    env = {k: v for k, v in os.environ.items() if k.startswith("PDU_")}
    try:
        with open(path("pdu.env")) as f:
            for line in f:
                line = line.rstrip("\n")
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    env[k.strip()] = v
    except OSError:
        pass
    return env


def read_file(name):
    try:
        with open(path(name)) as f:
            return f.read().strip()
    except OSError:
        return None


def to_tuple(text):
    return tuple(int(a) for a in text.strip().strip(".").split("."))


def pairs(words):
    out = {}
    for w in words:
        k, _, v = w.partition("=")
        out[k] = v
    return out


def expand(template, n, unit):
    arcs = []
    for a in template.strip(".").split("."):
        if a == "{n}":
            arcs.append(n)
        elif a == "{n-1}":
            arcs.append(n - 1)
        elif a == "{n+1}":
            arcs.append(n + 1)
        elif a == "{u}":
            arcs.append(unit)
        else:
            arcs.append(int(a))
    return tuple(arcs)


class Pdu:
    def __init__(self):
        self.env = read_env()
        self.gen = {}       # outlet -> generation of the latest command (newer cancels older)
        self.pending = {}   # outlet -> target state while a delayed command waits
        self.load(self.env["PDU_MODEL_FILE"])

    # -- model ------------------------------------------------------------------------------
    def load(self, model_file):
        outlets, unit = 8, 1
        lines = []
        with open(model_file) as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                word, _, rest = line.partition(" ")
                if word == "outlets":
                    outlets = int(rest)
                elif word == "unit":
                    unit = int(rest)
                else:
                    lines.append((word, rest.strip()))
        outlets = int(self.env.get("PDU_OUTLETS") or outlets)
        modules = max(1, int(self.env.get("PDU_MODULES") or 1))
        per_module = max(1, outlets // modules)
        self.outlets, self.unit = outlets, unit
        self.status_values = {}
        self.commands = {}   # oid -> (outlet, kind, spec)
        cells = {}           # oid -> getter
        for word, rest in lines:
            parts = rest.split()
            if word in ("register", "sysobjectid", "sysdescr"):
                continue
            tmpl = parts[0]
            per_outlet = "{n" in tmpl
            targets = range(1, outlets + 1) if per_outlet else [0]
            for n in targets:
                oid = expand(tmpl, n, unit)
                if word == "status":
                    self.status_values = pairs(parts[1:])
                    cells[oid] = lambda n=n: ("integer", self.status_value(n))
                elif word == "name":
                    cells[oid] = lambda n=n: ("string", self.name(n))
                elif word == "const":
                    value = " ".join(parts[2:]).replace("{n}", str(n))
                    value = value.replace("{module}", str((n - 1) // per_module + 1))
                    value = value.replace("{number}", str((n - 1) % per_module + 1))
                    typ = parts[1]
                    cells[oid] = lambda typ=typ, value=value: (typ, value)
                elif word == "pendingcol":
                    spec = pairs(parts[1:])
                    cells[oid] = lambda n=n, spec=spec: (
                        "integer", spec["yes"] if n in self.pending else spec["no"])
                elif word == "command":
                    spec = pairs(parts[1:])
                    spec.setdefault("read", "state")
                    self.commands[oid] = (n, "command", spec)
                    if oid not in cells:
                        cells[oid] = lambda n=n, spec=spec: ("integer", self.command_read(n, spec))
                elif word == "delaycmd":
                    spec = pairs(parts[2:])
                    spec.setdefault("read", "-1")
                    self.commands[oid] = (n, "delay:" + parts[1], spec)
                    cells[oid] = lambda spec=spec: ("integer", spec["read"])
                else:
                    raise ValueError("unknown directive " + word)
        self.oids = sorted(cells)
        self.cells = cells

    # -- outlet state -----------------------------------------------------------------------
    def state(self, n):
        s = read_file("outlet-%d.state" % n)
        return s if s in ("on", "off") else self.env.get("PDU_INITIAL_STATE", "on")

    def name(self, n):
        s = read_file("outlet-%d.name" % n)
        return s if s is not None else "Outlet %d" % n

    def status_value(self, n):
        target = self.pending.get(n)
        if target is not None and ("pending" + target) in self.status_values:
            return self.status_values["pending" + target]
        return self.status_values[self.state(n)]

    def command_read(self, n, spec):
        if spec["read"] == "state":
            return spec[self.state(n)]
        return spec["read"]

    def write_state(self, n, s):
        tmp = path("outlet-%d.state.tmp" % n)
        with open(tmp, "w") as f:
            f.write(s + "\n")
        os.replace(tmp, path("outlet-%d.state" % n))

    # -- requests ---------------------------------------------------------------------------
    def get(self, oid):
        g = self.cells.get(oid)
        return None if g is None else (oid, g())

    def getnext(self, oid):
        i = bisect.bisect_right(self.oids, oid)
        if i >= len(self.oids):
            return None
        o = self.oids[i]
        return (o, self.cells[o]())

    def set(self, oid, typ, text):
        self.env = read_env()
        cmd = self.commands.get(oid)
        if cmd is None:
            return "not-writable"
        n, kind, spec = cmd
        if typ != "integer":
            return "wrong-type"
        try:
            value = int(text)
        except ValueError:
            return "wrong-type"
        extra = 0.0
        if kind.startswith("delay:"):
            if value == -1:
                return "DONE"
            if value < 0:
                return "wrong-value"
            action, extra = kind[6:], float(value)
        else:
            action = next((a for a in ("on", "off", "reboot") if spec.get(a) == str(value)), None)
            if action is None:
                return "wrong-value"
        self.switch(n, action, extra)
        return "DONE"

    def ignored(self, n):
        spec = read_file("ignore-commands")
        if spec is None:
            return False
        return spec == "" or str(n) in spec.split()

    def switch(self, n, action, extra):
        delay = float(self.env.get("PDU_SWITCH_DELAY") or 0) + extra
        log("set outlet=%d action=%s delay=%.1f" % (n, action, delay))
        if self.ignored(n):
            log("ignored outlet=%d action=%s" % (n, action))
            return
        with LOCK:
            g = self.gen.get(n, 0) + 1
            self.gen[n] = g
            self.pending.pop(n, None)
        first = "on" if action == "on" else "off"
        then = "on" if action == "reboot" else None
        if delay <= 0:
            self.apply(n, g, first, then)
        else:
            with LOCK:
                self.pending[n] = first
            self.later(delay, n, g, first, then)

    def later(self, delay, n, g, state, then):
        t = threading.Timer(delay, self.apply, (n, g, state, then))
        t.daemon = True
        t.start()

    def apply(self, n, g, state, then):
        with LOCK:
            if self.gen.get(n) != g:
                return
            self.pending.pop(n, None)
            self.write_state(n, state)
            log("state outlet=%d %s" % (n, state))
            if then:
                self.pending[n] = then
        self.hook(n, state)
        if then:
            self.later(float(self.env.get("PDU_REBOOT_SECONDS") or 2), n, g, then, None)

    def hook(self, n, state):
        cmd = read_file("outlet-%d.%s-hook" % (n, state))
        if not cmd:
            cmd = self.env.get("PDU_OFF_HOOK" if state == "off" else "PDU_ON_HOOK", "")
        if not cmd:
            return
        env = dict(os.environ, PDU_OUTLET=str(n), PDU_OUTLET_NAME=self.name(n),
                   PDU_ACTION=state, PDU_STATE_DIR=STATE)
        with open(path("hook.log"), "a") as out:
            p = subprocess.Popen(["/bin/sh", "-c", cmd], stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log("hook outlet=%d %s pid=%d" % (n, state, p.pid))
        threading.Thread(target=p.wait, daemon=True).start()


def main():
    pdu = Pdu()
    rd, out = sys.stdin.readline, sys.stdout

    def answer(res):
        if res is None:
            out.write("NONE\n")
        else:
            oid, (typ, value) = res
            out.write(".%s\n%s\n%s\n" % (".".join(map(str, oid)), typ, value))

    while True:
        line = rd()
        if not line:
            return
        cmd = line.strip()
        if not cmd:
            continue
        try:
            if cmd == "PING":
                out.write("PONG\n")
            else:
                if cmd in ("get", "getnext", "set") and os.path.exists(path("drop-responses")):
                    time.sleep(float(read_env().get("PDU_DROP_SECONDS") or 2))
                if cmd == "get":
                    with LOCK:
                        answer(pdu.get(to_tuple(rd())))
                elif cmd == "getnext":
                    with LOCK:
                        answer(pdu.getnext(to_tuple(rd())))
                elif cmd == "set":
                    oid = to_tuple(rd())
                    typ, _, value = rd().strip().partition(" ")
                    out.write(pdu.set(oid, typ, value.strip().strip('"')) + "\n")
                else:
                    out.write("NONE\n")
        except Exception as e:  # keep the pipe in step whatever happens
            log("error %r in %s" % (e, cmd))
            out.write("commit-failed\n" if cmd == "set" else "NONE\n")
        out.flush()


if __name__ == "__main__":
    main()
