// Programs a sandbox under a network policy runs (exec `command`, a shell): each prints one line per answer.

export const FETCH = (url: string) => `python3 - <<'PY'
import urllib.request, urllib.error
try:
    r = urllib.request.urlopen("${url}", timeout=20)
    print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
PY`;

// A CONNECT by hand to the proxy, then a request through the tunnel: the first line of each answer.
export const CONNECT = (authority: string) => `python3 - <<'PY'
import socket
s = socket.create_connection(("10.0.2.2", 3128), timeout=20)
s.sendall(b"CONNECT ${authority} HTTP/1.1\\r\\nHost: ${authority}\\r\\n\\r\\n")
head = s.recv(4096)
print(head.split(b"\\r\\n")[0].decode())
if head.startswith(b"HTTP/1.1 200"):
    s.sendall(b"GET /tunnel HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
    body = b""
    while len(body) < 65536:
        d = s.recv(4096)
        if not d: break
        body += d
    print(body.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip())
else:
    print(head.split(b"\\r\\n\\r\\n", 1)[-1].decode().strip())
PY`;

export const DIRECT = (host: string, port: number) =>
  `python3 -c "import socket; socket.create_connection(('${host}', ${port}), timeout=5); print('connected')"`;

// Looks for the secret (given as hex, so this command line does not hold it) in every process's environment and
// command line, and in the files of the workspace (the sandbox's root, with the venv and the package cache) and /tmp.
export const SEARCH = (hex: string) => `python3 - <<'PY'
import os, glob
needle = bytes.fromhex("${hex}")
hits, looked = [], 0
for f in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"):
    try:
        looked += 1
        if needle in open(f, "rb").read(): hits.append(f)
    except OSError:
        pass
# The workspace is the sandbox's root: its system directories are the host's, read-only, and skipped.
SYSTEM = {"proc", "sys", "dev", "usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "etc", "var", "opt", "run", "boot", "srv", "media", "mnt", "root", "home", "snap"}
for top in (os.environ["HOME"], "/tmp"):
    for d, dirs, files in os.walk(top):
        if d == "/": dirs[:] = [x for x in dirs if x not in SYSTEM]
        if looked > 20000: break
        for n in files[:1000]:
            p = os.path.join(d, n)
            try:
                looked += 1
                if os.path.isfile(p) and needle in open(p, "rb").read(1 << 20): hits.append(p)
            except OSError:
                pass
print("looked", looked > 10, "hits", hits, "env", any(needle.decode() in v for v in os.environ.values()))
PY`;
