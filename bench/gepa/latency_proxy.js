// node bench/gepa/latency_proxy.js UPSTREAM PORT [LATENCY_MS]
// bench/gepa's API latency model: an HTTP proxy in front of the local LM server that holds each
// POST for a fixed LATENCY_MS (default GEPA_BENCH_LATENCY_MS, else 1500: the order of a hosted
// model's latency) before forwarding it, and lets calls overlap (each request waits on its own
// timer; the upstream server queues what it cannot serve at once). GETs (health, models) pass at
// once. Both sides of the bench send every policy and reflection call through it.
// Prints "latency proxy ready" when listening; counts calls and the most in flight at once, and
// writes them to stdout on SIGTERM.
const http = require('node:http');

const [upstreamArg, portArg, latencyArg] = process.argv.slice(2);
if (!upstreamArg || !portArg) {
  console.error('usage: node bench/gepa/latency_proxy.js UPSTREAM_URL PORT [LATENCY_MS]');
  process.exit(2);
}
const upstream = new URL(upstreamArg);
const latencyMs = Number(latencyArg ?? process.env.GEPA_BENCH_LATENCY_MS ?? 1500);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  console.error(`LATENCY_MS must be a number >= 0 (got ${JSON.stringify(latencyArg ?? process.env.GEPA_BENCH_LATENCY_MS)})`);
  process.exit(2);
}
let calls = 0;
let inFlight = 0;
let maxInFlight = 0;

const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    const delayed = req.method === 'POST';
    if (delayed) {
      calls++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
    }
    const forward = () => {
      const up = http.request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host, 'content-length': body.length } },
        (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
          ur.on('end', () => delayed && inFlight--);
        },
      );
      up.on('error', (e) => {
        if (delayed) inFlight--;
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `latency proxy: upstream ${upstream.href} failed: ${e.message}`, type: 'server_error', code: 502 } }));
      });
      up.end(body);
    };
    if (delayed) setTimeout(forward, latencyMs);
    else forward();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg), '127.0.0.1', () => console.log(`latency proxy ready on http://127.0.0.1:${portArg} -> ${upstream.href} (+${latencyMs} ms a call)`));
process.on('SIGTERM', () => {
  console.log(`latency proxy: ${calls} calls, at most ${maxInFlight} in flight at once`);
  process.exit(0);
});
