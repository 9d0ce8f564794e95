// A Node HTTP server for the preview tests, run inside a sandbox: `node ws-echo-server.cjs PORT`. HTTP: answers with
// the request's body and method (x-method). WebSocket: a hand-made handshake (no packages in the sandbox), and each
// text or binary message sent back prefixed with "echo:".
const http = require("node:http");
const crypto = require("node:crypto");
const port = Number(process.argv[2]);
const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    res.setHeader("x-method", req.method);
    res.end(Buffer.concat(parts));
  });
});
const frame = (op, payload) => {
  const head = payload.length < 126 ? Buffer.from([0x80 | op, payload.length]) : Buffer.from([0x80 | op, 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([head, payload]);
};
server.on("upgrade", (req, sock) => {
  const accept = crypto.createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      const op = buf[0] & 15;
      const masked = (buf[1] & 128) !== 0;
      let len = buf[1] & 127;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) return sock.destroy();
      const need = off + (masked ? 4 : 0) + len;
      if (buf.length < need) return;
      const mask = masked ? buf.subarray(off, off + 4) : null;
      const payload = Buffer.from(buf.subarray(need - len, need));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(need);
      if (op === 8) return sock.end(frame(8, Buffer.alloc(0)));
      if (op === 1 || op === 2) sock.write(frame(op, Buffer.concat([Buffer.from("echo:"), payload])));
    }
  });
  sock.on("error", () => undefined);
});
server.listen(port, "127.0.0.1");
