// Segment's own Node library (@segment/analytics-node) against `usercom serve`.
//
//     node tests/e2e/segment_node.mjs URL WRITE_KEY PREFIX
//
// Sends identify, page, track and group calls (ids start with PREFIX), flushes with
// closeAndFlush(), and prints one JSON object on stdout:
// {"library": "analytics-node", "sent": N, "statuses": [HTTP statuses seen], "errors": [...]}
// tests/e2e_segment_client.rs runs it and checks the database with the CLI.

const INSTALL = 'npm ci --prefix tests/e2e';

let Analytics;
try {
  ({ Analytics } = await import('@segment/analytics-node'));
} catch (e) {
  process.stderr.write(
    `Segment's Node library is not installed (${e.message}): ${INSTALL}\n`,
  );
  process.exit(3);
}

const [url, key, prefix] = process.argv.slice(2);
const analytics = new Analytics({
  writeKey: key,
  host: url,
  path: '/v1/batch',
  flushInterval: 50,
  maxRetries: 2,
  httpRequestTimeout: 10000,
});
const statuses = [];
const errors = [];
analytics.on('http_response', (r) => statuses.push(r.status));
analytics.on('error', (e) =>
  errors.push({ code: e.code, reason: String(e.reason ?? e.message ?? e) }),
);

const user = `${prefix}user`;
const anon = `${prefix}anon`;
const company = `${prefix}company`;
const context = {
  ip: '198.51.100.4',
  locale: 'en-GB',
  timezone: 'Europe/London',
  page: { url: 'https://shop.example.com/docs' },
};
analytics.page({
  anonymousId: anon,
  name: 'Docs',
  properties: { url: 'https://shop.example.com/docs', title: 'Docs' },
  context,
});
analytics.identify({
  userId: user,
  anonymousId: anon,
  traits: { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', plan: 'team' },
  context,
});
// Times are kept to the millisecond, and calls made in the same millisecond are
// ordered by messageId, not by call order: a pause puts the calls below (whose address
// the server adds) after the identify's.
await new Promise((resolve) => setTimeout(resolve, 20));
analytics.track({ userId: user, event: 'Order Completed', properties: { order_id: `${prefix}o-1`, revenue: 99.5 } });
analytics.group({ userId: user, groupId: company, traits: { name: 'Compilers Inc', employees: 40 } });
analytics.screen({ userId: user, name: 'Home' });
const sent = 5;
await analytics.closeAndFlush({ timeout: 20000 });
process.stdout.write(
  JSON.stringify({ library: 'analytics-node', sent, statuses, errors }) + '\n',
);
