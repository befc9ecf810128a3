// Segment's browser library (analytics.js, npm @segment/analytics-next) in a real
// headless Chromium, driven by puppeteer-core, against `usercom serve`.
//
//     node tests/e2e/browser.mjs SERVE_URL WRITE_KEY REVOKED_KEY
//
// Pages are served from a static server on 127.0.0.1 (another origin than usercom's,
// so every call is cross-origin, as on a real site); nothing is loaded from the
// internet. Each scenario runs in a fresh browser context (its own cookies and
// storage), makes its calls, and waits until usercom answered them. Prints one JSON
// object on stdout: {scenario: {calls: [[method, path, status, retryCount]], ...}}.
// tests/e2e_browser.rs runs it and checks the database with the CLI.

import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALL = 'npm ci --prefix tests/e2e';
const here = path.dirname(fileURLToPath(import.meta.url));

let puppeteer;
try {
  puppeteer = (await import('puppeteer-core')).default;
} catch (e) {
  process.stderr.write(`puppeteer-core is not installed (${e.message}): ${INSTALL}\n`);
  process.exit(3);
}
const bundles = {};
for (const version of ['1.83', '1.84']) {
  const dir = path.join(here, 'node_modules', `analytics-next-${version}`, 'dist', 'umd');
  if (!fs.existsSync(path.join(dir, 'standalone.js'))) {
    process.stderr.write(`@segment/analytics-next ${version} is not installed: ${INSTALL}\n`);
    process.exit(3);
  }
  bundles[version] = dir;
}

const [serveUrl, key, revokedKey] = process.argv.slice(2);
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';

// ---- the static host: pages and the library's files ----

const pages = new Map();
const statics = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (pages.has(url.pathname)) {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    return res.end(pages.get(url.pathname));
  }
  // /ajs/1.84/index.js, /ajs/1.84/analytics.min.js (the snippet's name for standalone.js)
  const m = url.pathname.match(/^\/ajs\/(1\.8[34])\/([\w.-]+)$/);
  if (m) {
    const file = m[2] === 'analytics.min.js' ? 'standalone.js' : m[2];
    const full = path.join(bundles[m[1]], file);
    if (fs.existsSync(full)) {
      res.writeHead(200, { 'Content-Type': 'application/javascript' });
      return res.end(fs.readFileSync(full));
    }
  }
  res.writeHead(404);
  res.end();
});

// ---- a proxy in front of usercom that answers the first tracking POST with 503 ----

const seenByProxy = [];
let failedOnce = false;
const target = new URL(serveUrl);
const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    seenByProxy.push([req.method, req.url, req.headers['x-retry-count'] ?? null]);
    if (req.method === 'POST' && /^\/v1\/[itpg]$/.test(req.url) && !failedOnce) {
      failedOnce = true;
      res.writeHead(503, {
        'Content-Type': 'application/json',
        'Access-Control-Allow-Origin': '*',
      });
      return res.end('{"success":false,"code":"unavailable","message":"injected"}');
    }
    const forward = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    forward.end(body);
  });
});

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const staticPort = await listen(statics);
const proxyPort = await listen(proxy);
const staticUrl = `http://127.0.0.1:${staticPort}`;
const proxyUrl = `http://127.0.0.1:${proxyPort}`;

// ---- pages ----

// The calls every scenario makes, with ids that start with `prefix`.
const calls = (prefix) => `
  async function run(analytics) {
    await analytics.page('Landing', { path: '/landing', url: 'http://shop.test/landing' });
    await analytics.identify('${prefix}user', {
      email: '${prefix}user@example.com', first_name: 'Ada', plan: 'pro',
    });
    await analytics.page('Pricing', { path: '/pricing', url: 'http://shop.test/pricing' });
    await analytics.track('Order Completed', { order_id: '${prefix}o-1', revenue: 42.5 });
    await analytics.group('${prefix}company', { name: 'Analytical Engines Ltd', employees: 12 });
  }`;

const npmPage = (version, prefix, options) => `<!doctype html>
<html><head><title>${prefix}</title><script src="/ajs/${version}/index.js"></script></head>
<body><script>
  ${calls(prefix)}
  window.done = (async () => {
    const [analytics] = await AnalyticsNext.AnalyticsBrowser.load(${options});
    await run(analytics);
    return 'ok';
  })().catch((e) => 'error: ' + e.message);
</script></body></html>`;

const load = (writeKey, cdn, segmentio = {}) =>
  JSON.stringify({ writeKey, cdnURL: cdn }) +
  ', ' +
  JSON.stringify({ integrations: { 'Segment.io': segmentio } });

// The official snippet (5.2), with the two lines a site changes: where analytics.min.js
// comes from (t.src), and where its settings come from (analytics._cdn).
const snippetPage = (prefix) => `<!doctype html>
<html><head><title>${prefix}</title>
<script>
  !function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");else{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group","track","ready","alias","debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector("link[rel='canonical']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);analytics.push(n);return analytics}};for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];analytics[key]=analytics.factory(key)}analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("data-global-segment-analytics-key",i);t.src="${staticUrl}/ajs/1.84/analytics.min.js";var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};analytics._writeKey="${key}";analytics._cdn="${serveUrl}";analytics.SNIPPET_VERSION="5.2.0";
  analytics.load("${key}");
  analytics.page("Landing", {path: "/landing", url: "http://shop.test/landing"});
  analytics.identify("${prefix}user", {email: "${prefix}user@example.com", first_name: "Ada", plan: "pro"});
  analytics.page("Pricing", {path: "/pricing", url: "http://shop.test/pricing"});
  analytics.track("Order Completed", {order_id: "${prefix}o-1", revenue: 42.5});
  analytics.group("${prefix}company", {name: "Analytical Engines Ltd", employees: 12});
  }}();
</script></head><body><script>window.done = Promise.resolve('ok');</script></body></html>`;

// A page that posts the way analytics.js 1.84 does and reads the answer (a 403 can
// only be read when it carries CORS headers).
const fetchPage = (writeKey) => `<!doctype html><html><body><script>
  window.done = fetch('${serveUrl}/v1/t', {
    method: 'post',
    headers: { 'Content-Type': 'text/plain', Authorization: 'Basic ' + btoa('${writeKey}:') },
    body: JSON.stringify({ writeKey: '${writeKey}', userId: 'revoked-user', event: 'E' }),
  }).then(async (r) => 'status ' + r.status + ': ' + (await r.json()).message)
    .catch((e) => 'error: ' + e.message);
</script></body></html>`;

const scenarios = [
  // [name, page, tracking answers to wait for: a path pattern and a count]
  ['std184', npmPage('1.84', 'std184-', load(key, serveUrl)), /\/v1\/[iptg]$/, 5],
  [
    'batch184',
    npmPage(
      '1.84',
      'batch184-',
      load(key, serveUrl, {
        deliveryStrategy: { strategy: 'batching', config: { size: 5, timeout: 300 } },
      }),
    ),
    /\/v1\/b$/,
    1,
  ],
  ['std183', npmPage('1.83', 'std183-', load(key, serveUrl)), /\/v1\/[iptg]$/, 5],
  ['retry184', npmPage('1.84', 'retry184-', load(key, proxyUrl)), /\/v1\/[iptg]$/, 5],
  ['snippet', snippetPage('snippet-'), /\/v1\/[iptg]$/, 5],
  ['revoked184', npmPage('1.84', 'revoked-', load(revokedKey, serveUrl)), null, 0],
  ['revokedFetch', fetchPage(revokedKey), null, 0],
];

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'usercom-chromium-'));
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  userDataDir,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

const results = {};
const deadline = (ms) => new Promise((resolve) => setTimeout(() => resolve('timeout'), ms));
try {
  for (const [name, html, pattern, expected] of scenarios) {
    pages.set(`/${name}.html`, html);
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const seen = [];
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(m.text()));
    page.on('pageerror', (e) => consoleLines.push('pageerror: ' + e.message));
    page.on('requestfailed', (r) =>
      consoleLines.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`),
    );
    page.on('response', (r) => {
      const req = r.request();
      seen.push([
        req.method(),
        new URL(r.url()).pathname,
        r.status(),
        req.headers()['x-retry-count'] ?? null,
      ]);
    });
    await page.goto(`${staticUrl}/${name}.html`, { waitUntil: 'load' });
    const outcome = await Promise.race([page.evaluate(() => window.done), deadline(20000)]);
    // Wait for the tracking calls to be answered 200.
    const started = Date.now();
    const delivered = () =>
      seen.filter(([m, p, s]) => m === 'POST' && pattern?.test(p) && s === 200).length;
    while (pattern && delivered() < expected && Date.now() - started < 20000) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // A moment for anything else the library would still send.
    await new Promise((r) => setTimeout(r, pattern ? 300 : 1500));
    results[name] = { outcome, calls: seen, console: consoleLines };
    await context.close();
  }
} finally {
  await browser.close();
  statics.close();
  proxy.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
results.proxy = seenByProxy;
process.stdout.write(JSON.stringify(results) + '\n');
process.exit(0);
