// A TLS front for a unix socket, demanding a client certificate signed by
// --ca: with it, the local Docker engine looks like a remote engine started
// with --tlsverify (tcp://HOST:2376), so the client's TLS path (CA check,
// client certificate) runs against the real engine. Bytes are relayed as they
// are, both ways; HTTP upgrades (exec streams) pass through untouched.
//
//   node tls-unix-proxy.mjs --cert F --key F --ca F --socket PATH [--port N]
//
// Prints {"port": N} once listening; exits when stdin closes or on SIGTERM.
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) {
    if (fallback !== undefined) return fallback;
    console.error(`tls-unix-proxy: ${name} is required`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const socketPath = arg('--socket');
const server = tls.createServer({
  cert: fs.readFileSync(arg('--cert')),
  key: fs.readFileSync(arg('--key')),
  ca: fs.readFileSync(arg('--ca')),
  requestCert: true,
  rejectUnauthorized: true,
}, (client) => {
  const engine = net.createConnection(socketPath);
  client.pipe(engine);
  engine.pipe(client);
  const close = () => { client.destroy(); engine.destroy(); };
  client.on('error', close);
  engine.on('error', close);
  client.on('close', close);
  engine.on('close', close);
});
// Handshake failures (no or untrusted client certificate) are the point of
// some tests: not worth a crash or a log line.
server.on('tlsClientError', () => {});

server.listen(Number(arg('--port', '0')), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!process.stdin.isTTY) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
