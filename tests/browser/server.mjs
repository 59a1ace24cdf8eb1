// A small static file server for the browser tests (and for a quick look at dist/):
//   node tests/browser/server.mjs [dir=dist] [port=8081] [--csp] [--cache]
// Serves on 127.0.0.1 only; `csp: true` sends the strict Content-Security-Policy the
// embeddable element must live under; `overrides` maps URL paths to local files.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STRICT_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; style-src 'self'";

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

export function startServer({ root = 'dist', port = 0, csp = false, overrides = {}, cache = false } = {}) {
  const base = resolve(root);
  const requests = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(url.pathname);
    let file;
    if (overrides[url.pathname]) {
      file = resolve(overrides[url.pathname]);
    } else {
      const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
      file = join(base, rel);
      if (file !== base && !file.startsWith(base + sep)) {
        res.writeHead(403).end();
        return;
      }
    }
    let st;
    try {
      st = statSync(file);
      if (st.isDirectory()) {
        file = join(file, 'index.html');
        st = statSync(file);
      }
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers = {
      'content-type': TYPES[extname(file)] || 'application/octet-stream',
      'content-length': st.size,
      // Tests start cold; `cache` lets a benchmark measure a repeat visit.
      'cache-control': cache ? 'max-age=3600' : 'no-store',
      'x-content-type-options': 'nosniff',
    };
    if (csp) headers['content-security-policy'] = csp === true ? STRICT_CSP : csp;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolvePromise) => {
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address();
      resolvePromise({
        url: `http://127.0.0.1:${actual}/`,
        requests,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const { url } = await startServer({ root: args[0] || 'dist', port: Number(args[1] || 8081), csp: process.argv.includes('--csp'), cache: process.argv.includes('--cache') });
  console.log(`serving ${args[0] || 'dist'} at ${url}`);
}
