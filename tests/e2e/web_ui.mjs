// The web UI of `usercom serve` in a real headless Chromium, driven by puppeteer-core.
//
//     node tests/e2e/web_ui.mjs SERVE_URL WRITE_KEY SCREENSHOT_DIR
//
// The database holds the demo data, two users whose `plan_size` is text ("12" and
// "lots") and a user and an event carrying XSS payloads (tests/e2e_web_ui.rs puts them
// there). Each step records what it saw; stdout is one JSON object by step, which
// tests/e2e_web_ui.rs checks. Screenshots of each page go to SCREENSHOT_DIR.

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
const axePath = path.join(here, 'node_modules', 'axe-core', 'axe.min.js');
const ajsDir = path.join(here, 'node_modules', 'analytics-next-1.84', 'dist', 'umd');
if (!fs.existsSync(axePath) || !fs.existsSync(path.join(ajsDir, 'standalone.js'))) {
  process.stderr.write(`axe-core or @segment/analytics-next is not installed: ${INSTALL}\n`);
  process.exit(3);
}
const axeSource = fs.readFileSync(axePath, 'utf8');
const [serveUrl, key, shots] = process.argv.slice(2);
fs.mkdirSync(shots, { recursive: true });

// Another origin, as a real site: a page with analytics.js that tracks on demand.
const sitePage = `<!doctype html><html><head><title>site</title>
<script src="/ajs/index.js"></script></head><body><script>
  window.ready = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: ${JSON.stringify(key)}, cdnURL: ${JSON.stringify(serveUrl)} },
    { integrations: { 'Segment.io': {} } },
  ).then(([a]) => { window.analytics = a; return 'ok'; });
</script></body></html>`;
const site = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/site.html') {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    return res.end(sitePage);
  }
  const m = url.pathname.match(/^\/ajs\/([\w.-]+)$/);
  if (m && fs.existsSync(path.join(ajsDir, m[1]))) {
    res.writeHead(200, { 'Content-Type': 'application/javascript' });
    return res.end(fs.readFileSync(path.join(ajsDir, m[1])));
  }
  res.writeHead(404);
  res.end();
});
await new Promise((r) => site.listen(0, '127.0.0.1', r));
const siteUrl = `http://127.0.0.1:${site.address().port}`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'usercom-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir,
  protocolTimeout: 30000,
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

const out = { dialogs: [], consoleErrors: [] };
const ui = (p) => `${serveUrl}${p}`;
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const watch = (page) => {
  page.on('dialog', async (d) => { out.dialogs.push(d.message()); await d.dismiss(); });
  page.on('console', (m) => { if (m.type() === 'error') out.consoleErrors.push(m.text()); });
};
async function step(name, f) {
  try {
    out[name] = await f();
  } catch (e) {
    out[name] = { error: String(e && e.stack || e) };
  }
}
async function submit(page, selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}

try {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1100, height: 720 });
  watch(page);

  // Every page: a screenshot, and axe-core's serious and critical violations. (axe is
  // evaluated through the DevTools protocol: the pages' policy allows no inline script.)
  await step('pages', async () => {
    const found = {};
    for (const [name, p] of [
      ['users', '/ui/users'],
      ['profile', '/ui/users/user-0001'],
      ['companies', '/ui/companies'],
      ['company', '/ui/companies/company-01'],
      ['events', '/ui/events?period=week'],
      ['pages', '/ui/pages'],
      ['rejections', '/ui/rejections'],
      ['settings', '/ui/settings'],
    ]) {
      const answer = await page.goto(ui(p), { waitUntil: 'load' });
      await page.screenshot({ path: path.join(shots, `${name}.png`) });
      await page.evaluate(axeSource);
      const result = await page.evaluate(() =>
        window.axe.run(document, { resultTypes: ['violations'] }));
      found[name] = {
        status: answer.status(),
        serious: result.violations
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
      };
    }
    return found;
  });

  await step('filter', async () => {
    await page.goto(ui('/ui/users'), { waitUntil: 'load' });
    const before = Number(await text(page, '#count'));
    await page.type('#f-where-0', 'country=US');
    await submit(page, 'form.filters button[type=submit]');
    const after = Number(await text(page, '#count'));
    const url = page.url();
    await submit(page, 'tbody tr:first-child td:first-child a');
    return { before, after, url, profile: await text(page, 'h1') };
  });

  await step('why', async () => {
    await page.goto(ui('/ui/users/xss-user'), { waitUntil: 'load' });
    await submit(page, 'a.why[aria-label="Why first_name"]');
    return {
      url: page.url(),
      heading: await text(page, 'h1'),
      table: await text(page, 'main table'),
      ran: await page.evaluate(() => window.__xss ?? null),
    };
  });

  await step('define', async () => {
    await page.goto(ui('/ui/settings'), { waitUntil: 'load' });
    await page.select('#attr-scope', 'user');
    await page.type('#attr-name', 'plan_size');
    await page.select('#attr-type', 'number');
    await submit(page, 'form[action="/ui/settings/attributes"] button');
    return {
      report: await text(page, '#conversion'),
      unconverted: await text(page, '#unconverted tbody'),
    };
  });

  await step('key', async () => {
    await page.goto(ui('/ui/settings'), { waitUntil: 'load' });
    await page.type('#key-name', 'from-the-browser');
    await page.select('#key-kind', 'admin');
    await submit(page, 'form[action="/ui/settings/keys"] button');
    const shown = await text(page, '#new-key');
    await page.goto(ui('/ui/settings'), { waitUntil: 'load' });
    const shownAgain = (await page.content()).includes(shown);
    const revoke = await page.$$eval('tbody tr', (rows) => {
      const row = rows.find((r) => r.textContent.includes('from-the-browser'));
      return row ? row.querySelector('button').getAttribute('aria-label') : null;
    });
    await submit(page, `button[aria-label="${revoke}"]`);
    const revokedRow = await page.$$eval('tbody tr', (rows) =>
      rows.find((r) => r.textContent.includes('from-the-browser')).textContent);
    return { shown, shownAgain, notice: await text(page, '.notice'), revokedRow };
  });

  await step('live', async () => {
    const live = await context.newPage();
    watch(live);
    await live.goto(ui('/ui/live'), { waitUntil: 'load' });
    await live.waitForFunction(() => document.getElementById('live-status').textContent === 'Live.');
    const tab = await context.newPage();
    await tab.goto(`${siteUrl}/site.html`, { waitUntil: 'load' });
    await tab.evaluate(() => window.ready);
    await tab.evaluate(() => window.analytics.track('Seen Live', { n: 1 }));
    await live.waitForFunction(
      () => document.getElementById('live').textContent.includes('Seen Live'), { timeout: 10000 });
    // Paused: held back; resumed: shown.
    // (Clicked from the page: a page in the background runs no animation frames,
    // which puppeteer's click waits for.)
    const pause = () => live.$eval('#pause', (b) => b.click());
    await pause();
    await tab.evaluate(() => window.analytics.track('While Paused', { n: 2 }));
    await new Promise((r) => setTimeout(r, 1000));
    const duringPause = await text(live, '#live');
    await pause();
    await live.waitForFunction(
      () => document.getElementById('live').textContent.includes('While Paused'), { timeout: 10000 });
    await live.bringToFront();
    await live.screenshot({ path: path.join(shots, 'live.png') });
    await tab.close();
    await live.close();
    return { pausedShowed: duringPause.includes('While Paused'), ok: true };
  });

  await step('domain', async () => {
    await page.goto(ui('/ui/settings'), { waitUntil: 'load' });
    await page.type('#domain', 'Shop.Example.com');
    await submit(page, 'form[action="/ui/settings/domains"] button');
    return { notice: await text(page, '.notice'), listed: await text(page, 'ul.domains') };
  });

  await step('xss', async () => {
    const seen = {};
    for (const p of ['/ui/users/xss-user', '/ui/events', '/ui/users?where=user_id%3Dxss-user']) {
      await page.goto(ui(p), { waitUntil: 'load' });
      seen[p] = {
        ran: await page.evaluate(() => window.__xss ?? null),
        injected: await page.evaluate(() => document.querySelectorAll('main img, main script').length),
        shown: await page.evaluate(() => document.querySelector('main').innerText),
      };
    }
    return seen;
  });

  await step('csrf', async () => {
    await page.goto(ui('/ui/settings'), { waitUntil: 'load' });
    return page.evaluate(async () => {
      const r = await fetch('/ui/settings/domains', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'domain=evil.example',
      });
      return { status: r.status };
    });
  });

  await step('noScript', async () => {
    const plain = await browser.createBrowserContext();
    const p = await plain.newPage();
    await p.setJavaScriptEnabled(false);
    await p.goto(ui('/ui/users'), { waitUntil: 'load' });
    await p.type('#f-where-0', 'country=US');
    await submit(p, 'form.filters button[type=submit]');
    const count = Number(await text(p, '#count'));
    await submit(p, 'tbody tr:first-child td:first-child a');
    const heading = await text(p, 'h1');
    const timeline = await p.$$eval('table.timeline tbody tr', (rows) => rows.length);
    await plain.close();
    return { count, heading, timeline };
  });
} finally {
  await browser.close();
  site.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out) + '\n');
