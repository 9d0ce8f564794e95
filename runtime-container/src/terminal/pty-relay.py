# The terminal's PTY, inside the sandbox as the thread's uid: bash on a new pseudo-terminal, its output as raw bytes
# on stdout, and on stdin frames from the runtime (1 byte kind, 4 bytes big-endian length, payload): "d" input for
# the shell, "r" a resize (two big-endian u16: cols, rows). Ends when the shell does or stdin closes.
import errno, fcntl, os, pty, select, signal, struct, sys, termios

def write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError as e:
            if e.errno != errno.EINTR:
                return False
    return True

def resize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

def main():
    os.environ.setdefault("TERM", "xterm-256color")
    pid, master = pty.fork()
    if pid == 0:
        os.execvp("bash", ["bash", "-i"])
    resize(master, 80, 24)
    pending = b""
    stdin_open = True
    while True:
        watch = [master] + ([0] if stdin_open else [])
        try:
            ready, _, _ = select.select(watch, [], [])
        except InterruptedError:
            continue
        if master in ready:
            try:
                out = os.read(master, 65536)
            except OSError:
                out = b""
            if not out or not write_all(1, out):
                break
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                break
            pending += data
            while len(pending) >= 5:
                kind, size = pending[0], struct.unpack(">I", pending[1:5])[0]
                if len(pending) < 5 + size:
                    break
                payload, pending = pending[5:5 + size], pending[5 + size:]
                if kind == ord("d"):
                    write_all(master, payload)
                elif kind == ord("r") and size == 4:
                    cols, rows = struct.unpack(">HH", payload)
                    resize(master, cols, rows)
                    os.kill(pid, signal.SIGWINCH)
    try:
        os.killpg(pid, signal.SIGHUP)
    except OSError:
        pass
    sys.exit(0)

main()
