# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Hostile HTTP clients for pyhound serve's abuse test, for SECONDS seconds: NSLOW slow
clients (one header byte per second, reconnecting, from 127.0.0.2), a 16-thread bad-password
flood (from 127.0.0.3) and 6 concurrent /profile requests (from 127.0.0.4).
Usage: http_abuse.py PORT SECONDS NSLOW HEADER_TIMEOUT USER:PASSWORD
Prints one line of counts: slow connections opened, refused at once, cut by the header
timeout, overdue; bad-password requests and their 401 and 503 answers; profile answers."""
import base64, socket, sys, threading, time

port, seconds, nslow, hdr_timeout = (int(a) for a in sys.argv[1:5])
user_pass = sys.argv[5]
host = "127.0.0.1"
stop = time.monotonic() + seconds
lock = threading.Lock()
st = {"slow": 0, "slow_refused": 0, "slow_cut": 0, "slow_overdue": 0, "bad_auth": 0,
      "bad_401": 0, "busy_503": 0, "profiles": 0}
codes = []


def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(30)
    s.connect((host, port))
    return s


def slow():
    """Reconnect and trickle one header byte per second until the end; classify how each
    connection ended: refused at once (per-IP limit), cut by the header timeout, or overdue
    (still open past header_timeout + 3 s: the timeout did not work)."""
    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
    while time.monotonic() < stop:
        try:
            s = conn("127.0.0.2")
        except OSError:
            time.sleep(0.2)
            continue
        t0 = time.monotonic()
        with lock:
            st["slow"] += 1
        i, closed = 0, False
        s.settimeout(1.0)
        try:
            while time.monotonic() < stop and time.monotonic() - t0 <= hdr_timeout + 3:
                s.send(req[i:i + 1])
                i += 1
                try:
                    if s.recv(1) == b"":
                        raise OSError
                except socket.timeout:
                    pass
        except OSError:
            closed = True
        took = time.monotonic() - t0
        s.close()
        with lock:
            if closed and took < 0.5:
                st["slow_refused"] += 1
            elif closed:
                st["slow_cut"] += 1
            elif took > hdr_timeout + 3:
                st["slow_overdue"] += 1
        if closed and took < 0.5:
            time.sleep(0.2)


def request(src, path, auth):
    s = conn(src)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"
               "Connection: close\r\n\r\n" % (path, auth)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0


def bad_auth():
    auth = base64.b64encode(b"prom:wrong").decode()
    while time.monotonic() < stop:
        try:
            code = request("127.0.0.3", "/metrics", auth)
        except OSError:
            continue
        with lock:
            st["bad_auth"] += 1
            st["bad_401"] += code == 401
            st["busy_503"] += code == 503


def profile():
    auth = base64.b64encode(user_pass.encode()).decode()
    try:
        code = request("127.0.0.4", "/profile?seconds=%d" % max(1, seconds - 5), auth)
    except OSError:
        code = 0
    with lock:
        st["profiles"] += 1
        codes.append(code)


threads = [threading.Thread(target=slow) for _ in range(nslow)]
threads += [threading.Thread(target=bad_auth) for _ in range(16)]
threads += [threading.Thread(target=profile) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(" ".join("%s=%d" % kv for kv in st.items()),
      "profile_codes=" + ",".join(str(c) for c in sorted(codes)), flush=True)
