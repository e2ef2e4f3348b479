#!/usr/bin/python3
# smtp-client.py - the lab's mail client: sends numbered messages to the service address over
# SMTP, one connection per message, until told to stop, and logs what the server did.
#
#   smtp-client.py ADDR PORT DIR TAG      (run inside the client network namespace)
#
# Each message carries "X-Lab-Seq: TAG/N" (N = 1, 2, ...; a new number for every attempt; TAG
# names the run, so runs sharing one mail store are told apart). The log
# DIR/client.log has one line per event, times in seconds since the epoch (host clock, the same
# clock the lab stamps its faults with):
#   T banner HOST      a connection was greeted by "220 HOST ..." (HOST = the serving node)
#   T ack N            message N got "250" after DATA: the server says it is stored
#   T fail N REASON    attempt N failed (refused, timeout, unexpected reply)
# The client stops when DIR/stop exists. Short timeouts (connect 0.5 s, replies 3 s) keep the
# sampling of service availability fine-grained; a pause of 50 ms separates attempts.
import os
import socket
import sys
import time

addr, port, out, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
log = open(os.path.join(out, "client.log"), "a", buffering=1)


def event(text):
    log.write("%.3f %s\n" % (time.time(), text))


class Reply(Exception):
    pass


def reply(f, want):
    """Reads one (possibly multi-line) SMTP reply; raises Reply unless its code is `want`."""
    while True:
        line = f.readline()
        if not line:
            raise Reply("connection closed")
        text = line.decode("ascii", "replace").rstrip("\r\n")
        if len(text) < 4 or text[3] != "-":
            break
    if not text.startswith(want):
        raise Reply("got %r" % text[:60])
    return text


def send(n):
    with socket.create_connection((addr, port), timeout=0.5) as s:
        s.settimeout(3)
        f = s.makefile("rb")
        banner = reply(f, "220")
        words = banner.split()
        event("banner %s" % (words[1] if len(words) > 1 else "?"))
        s.sendall(b"EHLO client.lab\r\n")
        reply(f, "250")
        s.sendall(b"MAIL FROM:<client@lab.test>\r\n")
        reply(f, "250")
        s.sendall(b"RCPT TO:<postmaster@standin>\r\n")
        reply(f, "250")
        s.sendall(b"DATA\r\n")
        reply(f, "354")
        body = ("From: client@lab.test\r\nTo: postmaster@standin\r\nSubject: lab message %d\r\n"
                "X-Lab-Seq: %s/%d\r\n\r\nmessage %d of failover run %s\r\n.\r\n") % (n, tag, n, n, tag)
        s.sendall(body.encode())
        reply(f, "250")
        event("ack %d" % n)
        try:
            s.sendall(b"QUIT\r\n")
            reply(f, "221")
        except (OSError, Reply):
            pass


n = 0
while not os.path.exists(os.path.join(out, "stop")):
    n += 1
    try:
        send(n)
    except (OSError, Reply) as e:
        event("fail %d %s" % (n, str(e).replace("\n", " ")[:80]))
    time.sleep(0.05)
event("stopped")
