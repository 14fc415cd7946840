/**
 * The server's defences, on the real app (inject) over a real database: sign-in throttling by
 * client address, sign-out that ends the session, cross-origin refusal of cookie-authenticated
 * changes, the proxy setting, response headers, what the page directory serves, and cache keys.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, jpegWithExif, openTestDatabase, PASSWORD, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

let db: Database;
let t: TestApp;

const CODE = '370102-202610-0001';

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(CODE, '2026-10', square(117.0, 36.6))], '2026-11-02');
  await addUsers(db, [
    ['chief', 'lead'],
    ['nr', 'bureau', 'natural_resources'],
    ['root', 'admin'],
  ]);
  t = await testApp(db, { webDir: 'web' });
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

function signIn(name: string, password: string, remoteAddress = '127.0.0.1') {
  return t.app.inject({ method: 'POST', url: '/api/session', payload: { name, password }, remoteAddress });
}

describe('sign-in throttling', () => {
  it("a stranger's failures lock the name out from his address only", async () => {
    for (let i = 0; i < 10; i++) expect((await signIn('chief', `guess-number-${i}`, '203.0.113.9')).statusCode).toBe(401);
    const there = await signIn('chief', PASSWORD, '203.0.113.9');
    expect([there.statusCode, there.json().code]).toEqual([429, 'AUTH.THROTTLED']);
    expect(there.json().message).toMatch(/retry after 15 min/);
    expect((await signIn('chief', PASSWORD, '10.20.30.40')).statusCode).toBe(200);
  });

  it('refuses an address that sprays guesses over many names, and only that address', async () => {
    for (let i = 0; i < 50; i++) expect((await signIn(`someone${i}`, 'spring2026!!', '198.51.100.7')).statusCode).toBe(401);
    const r = await signIn('nr', PASSWORD, '198.51.100.7');
    expect([r.statusCode, r.json().code]).toEqual([429, 'AUTH.THROTTLED']);
    expect((await signIn('nr', PASSWORD, '10.20.30.41')).statusCode).toBe(200);
  });
});

describe('signing out', () => {
  const me = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/api/me', headers });

  it('ends the session: the token and the cookie are refused afterwards, a new sign-in works', async () => {
    await addUsers(db, [['leaver', 'analyst']]);
    const first = await signIn('leaver', PASSWORD);
    const token = first.json().token as string;
    const cookie = String(first.headers['set-cookie']).split(';')[0];
    expect((await me({ authorization: `Bearer ${token}` })).statusCode).toBe(200);
    const out = await t.app.inject({ method: 'DELETE', url: '/api/session', headers: { authorization: `Bearer ${token}` } });
    expect([out.statusCode, out.json()]).toEqual([200, { ok: true }]);
    for (const headers of [{ authorization: `Bearer ${token}` }, { cookie }]) {
      const r = await me(headers);
      expect([r.statusCode, r.json().code]).toEqual([401, 'AUTH.TOKEN_INVALID']);
    }
    // The test clock stands still: the new token still postdates the sign-out.
    const again = (await signIn('leaver', PASSWORD)).json().token as string;
    expect((await me({ authorization: `Bearer ${again}` })).statusCode).toBe(200);
  });

  it('by the cookie alone (as the page may), and answers ok without any credentials', async () => {
    await addUsers(db, [['cookie-user', 'analyst']]);
    const cookie = String((await signIn('cookie-user', PASSWORD)).headers['set-cookie']).split(';')[0];
    const out = await t.app.inject({ method: 'DELETE', url: '/api/session', headers: { cookie, origin: 'http://localhost:80', host: 'localhost:80' } });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/^tuban_session=; .*Max-Age=0/);
    expect((await me({ cookie })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/session' })).statusCode).toBe(200);
  });
});

describe('admin: disable and enable accounts in the running server', () => {
  const admin = async (method: 'GET' | 'POST', url: string) => t.app.inject({ method, url, headers: { authorization: `Bearer ${await t.token('root')}` } });

  it('disabling ends the sessions at once; enabling lets the user sign in again, not the old token', async () => {
    await addUsers(db, [['wang', 'bureau', 'forestry']]);
    const old = (await signIn('wang', PASSWORD)).json().token as string;
    const off = await admin('POST', '/api/users/wang/disable');
    expect([off.statusCode, off.json()]).toEqual([200, { name: 'wang', disabled: true }]);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${old}` } })).statusCode).toBe(401);
    expect((await signIn('wang', PASSWORD)).statusCode).toBe(401);
    expect((await admin('GET', '/api/users')).json().find((u: { name: string }) => u.name === 'wang').disabled).toBe(true);
    expect((await admin('POST', '/api/users/wang/enable')).json()).toEqual({ name: 'wang', disabled: false });
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${old}` } })).statusCode).toBe(401);
    expect((await signIn('wang', PASSWORD)).statusCode).toBe(200);
    const audit = await db.query<{ actor: string; action: string }>(`SELECT actor, action FROM audit_log WHERE after->>'name' = 'wang' AND action IN ('user.disable', 'user.enable') ORDER BY id`);
    expect(audit.rows).toEqual([
      { actor: 'root', action: 'user.disable' },
      { actor: 'root', action: 'user.enable' },
    ]);
  });

  it("is for admins only, refuses the admin's own account and names a missing one", async () => {
    const byLead = await t.app.inject({ method: 'POST', url: '/api/users/nr/disable', headers: { authorization: `Bearer ${await t.token('chief')}` } });
    expect([byLead.statusCode, byLead.json().code]).toEqual([403, 'AUTH.FORBIDDEN']);
    expect((await admin('POST', '/api/users/root/disable')).json().code).toBe('USER.INVALID');
    expect((await admin('POST', '/api/users/ghost/disable')).json().code).toBe('USER.NOT_FOUND');
    expect((await admin('POST', '/api/users/bad%20name/enable')).json().code).toBe('VALIDATION');
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${await t.token('nr')}` } })).statusCode).toBe(200);
  });
});

describe('cross-site request forgery', () => {
  const HOST = 'tuban.example.gov.cn';
  const cookieOf = async (name: string) => String((await signIn(name, PASSWORD)).headers['set-cookie']).split(';')[0];
  const post = (url: string, headers: Record<string, string>) => t.app.inject({ method: 'POST', url, headers: { host: HOST, 'content-type': 'text/plain', ...headers }, payload: '' });
  const status = async () => (await db.query<{ status: string }>('SELECT status FROM cases WHERE code = $1', [CODE])).rows[0]?.status;

  it('refuses a change riding on the cookie from another site, or from no stated page', async () => {
    const nr = await cookieOf('nr');
    const chief = await cookieOf('chief');
    for (const [url, cookie, from] of [
      [`/api/polygons/${CODE}/accept`, nr, { origin: 'http://evil.example' }],
      ['/api/sweep', chief, { origin: 'http://evil.example' }],
      ['/api/sweep', chief, { origin: 'null' }],
      ['/api/sweep', chief, { referer: `http://${HOST}.evil.example/page` }],
      ['/api/sweep', chief, {}],
    ] as const) {
      const r = await post(url, { cookie, ...from });
      expect([r.statusCode, r.json().code], `${url} ${JSON.stringify(from)}`).toEqual([403, 'AUTH.CROSS_ORIGIN']);
    }
    const out = await t.app.inject({ method: 'DELETE', url: '/api/session', headers: { host: HOST, cookie: nr, origin: 'http://evil.example' } });
    expect(out.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: nr } })).statusCode).toBe(200);
    expect(await status()).not.toBe('accepted');
  });

  it("accepts the server's own page (Origin, else Referer), reads from anywhere, and bearer clients", async () => {
    const chief = await cookieOf('chief');
    expect((await post('/api/sweep', { cookie: chief, origin: `https://${HOST}` })).statusCode).toBe(200);
    expect((await post('/api/sweep', { cookie: chief, referer: `http://${HOST}/?epoch=2026-10` })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/me', headers: { host: HOST, cookie: chief, origin: 'http://evil.example' } })).statusCode).toBe(200);
    const r = await post(`/api/polygons/${CODE}/accept`, { authorization: `Bearer ${await t.token('nr')}`, origin: 'http://evil.example' });
    expect(r.statusCode, r.body).toBe(200);
    expect(await status()).toBe('accepted');
  });
});

describe('behind a reverse proxy (TUBAN_TRUST_PROXY)', () => {
  const viaProxy = (app: TestApp, name: string, password: string, forwardedFor: string) =>
    app.app.inject({ method: 'POST', url: '/api/session', payload: { name, password }, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': forwardedFor } });

  it('marks the cookie Secure when the trusted proxy says https, and throttles by the forwarded client', async () => {
    const proxied = await testApp(db, { trustProxy: 'loopback' });
    try {
      const r = await viaProxy(proxied, 'chief', PASSWORD, '198.51.100.20');
      expect(String(r.headers['set-cookie'])).toMatch(/; Secure$/);
      for (let i = 0; i < 10; i++) await viaProxy(proxied, 'nr', `guess-number-${i}`, '203.0.113.60');
      expect((await viaProxy(proxied, 'nr', PASSWORD, '203.0.113.60')).statusCode).toBe(429);
      expect((await viaProxy(proxied, 'nr', PASSWORD, '203.0.113.61')).statusCode).toBe(200);
      // The cross-origin check compares the host the browser saw, which the proxy forwards.
      const cookie = String(r.headers['set-cookie']).split(';')[0];
      const sweep = await proxied.app.inject({ method: 'POST', url: '/api/sweep', headers: { cookie, host: '127.0.0.1:8080', 'x-forwarded-host': 'tuban.example.gov.cn', origin: 'https://tuban.example.gov.cn' } });
      expect(sweep.statusCode, sweep.body).toBe(200);
    } finally {
      await proxied.app.close();
    }
  });

  it('ignores forwarded headers without the setting, and from addresses it does not list', async () => {
    const r = await viaProxy(t, 'chief', PASSWORD, '198.51.100.20');
    expect(String(r.headers['set-cookie'])).not.toMatch(/Secure/);
    const proxied = await testApp(db, { trustProxy: '10.0.0.5' });
    try {
      const direct = await proxied.app.inject({ method: 'POST', url: '/api/session', payload: { name: 'chief', password: PASSWORD }, headers: { 'x-forwarded-proto': 'https' }, remoteAddress: '198.51.100.21' });
      expect(String(direct.headers['set-cookie'])).not.toMatch(/Secure/);
    } finally {
      await proxied.app.close();
    }
  });
});

describe('response headers', () => {
  it('sends the page with a Content-Security-Policy that forbids framing and inline script', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/' });
    expect(r.statusCode).toBe(200);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("worker-src 'self' blob:");
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('forbids framing and type sniffing on API answers too', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${await t.token('nr')}` } });
    expect([r.headers['x-frame-options'], r.headers['x-content-type-options']]).toEqual(['DENY', 'nosniff']);
  });
});

describe('what the page directory serves', () => {
  const get = (app: TestApp, url: string) => app.app.inject({ method: 'GET', url });

  it("serves the page's assets to anyone, never its test sources", async () => {
    for (const url of ['/', '/index.html', '/app.js', '/style.css']) expect((await get(t, url)).statusCode, url).toBe(200);
    for (const url of ['/page.test.ts', '/page.test.ts?x=1']) expect((await get(t, url)).statusCode, url).toBe(404);
  });

  it('serves only the types the page loads, no hidden files and no *.test.* of any type', async () => {
    const web = join(t.dataDir, 'web-assets');
    await mkdir(join(web, '.git'), { recursive: true });
    for (const f of ['index.html', 'helper.test.js', 'notes.md', '.env', '.git/config', 'icon.png']) await writeFile(join(web, f), 'x');
    const app = await testApp(db, { webDir: web });
    try {
      for (const url of ['/index.html', '/icon.png']) expect((await get(app, url)).statusCode, url).toBe(200);
      for (const url of ['/helper.test.js', '/notes.md', '/.env', '/.git/config']) expect((await get(app, url)).statusCode, url).toBe(404);
    } finally {
      await app.app.close();
    }
  });
});

describe('responses a browser keeps', () => {
  it('chips, evidence files and the map layer vary by the credentials', async () => {
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const app = await testApp(db, { chips: async () => ({ png }) });
    try {
      const auth = { authorization: `Bearer ${await app.token('nr')}` };
      const chip = await app.app.inject({ method: 'GET', url: `/api/polygons/${CODE}/chips/after.png`, headers: auth });
      expect([chip.statusCode, chip.headers['cache-control'], chip.headers.vary]).toEqual([200, 'private, max-age=86400', 'Authorization, Cookie']);
      // Revalidated by its content hash, as the map tiles are: 304 on a match, the chip again otherwise.
      const etag = String(chip.headers.etag);
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await app.app.inject({ method: 'GET', url: `/api/polygons/${CODE}/chips/after.png`, headers: { ...auth, 'if-none-match': etag } });
      expect([again.statusCode, again.rawPayload.length]).toEqual([304, 0]);
      const stale = await app.app.inject({ method: 'GET', url: `/api/polygons/${CODE}/chips/after.png`, headers: { ...auth, 'if-none-match': '"other"' } });
      expect(Buffer.compare(stale.rawPayload, png)).toBe(0);
      const jpg = jpegWithExif({ taken: '2026:11:05 09:12:30', lat: 36.6005, lon: 117.0005, azimuth: 90 });
      const up = await app.app.inject({ method: 'POST', url: `/api/polygons/${CODE}/evidence?name=site.jpg`, headers: { ...auth, 'content-type': 'image/jpeg' }, payload: jpg });
      expect(up.statusCode, up.body).toBe(200);
      const file = await app.app.inject({ method: 'GET', url: `/api/polygons/${CODE}/evidence/${up.json().result.id}`, headers: auth });
      expect([file.statusCode, file.headers.vary]).toEqual([200, 'Authorization, Cookie']);
      expect(file.headers['cache-control']).toMatch(/^private, .*immutable/);
      const layer = await app.app.inject({ method: 'GET', url: '/api/polygons.geojson?bbox=116.9,36.5,117.2,36.7', headers: auth });
      expect([layer.statusCode, layer.headers.vary]).toEqual([200, 'Authorization, Cookie, Accept-Encoding']);
    } finally {
      await app.app.close();
    }
  });
});

describe('answers that name no caching of their own', () => {
  it("are kept by no cache (a shared proxy, the disk of an office PC two bureaus share): the card, the list, counts, accounts, errors and the sign-in's token", async () => {
    const auth = (user: string) => t.token(user).then((token) => ({ authorization: `Bearer ${token}` }));
    for (const [user, url] of [
      ['nr', `/api/polygons/${CODE}`],
      ['nr', '/api/polygons?view=list'],
      ['nr', '/api/polygons?epoch=2026-10'],
      ['nr', '/api/inbox/counts'],
      ['nr', '/api/me'],
      ['nr', '/api/months'],
      ['nr', '/api/districts'],
      ['root', '/api/users'],
      ['nr', '/api/polygons/370102-202610-0999'],
      ['nr', '/api/no-such-route'],
      // The router decodes the path: the same route spelled with an escape is still the API.
      ['nr', '/%61pi/me'],
    ] as const) {
      const r = await t.app.inject({ method: 'GET', url, headers: { ...(await auth(user)), 'accept-encoding': 'gzip' } });
      expect([url, r.headers['cache-control']]).toEqual([url, 'private, no-store']);
    }
    const session = await signIn('nr', PASSWORD, '10.9.9.9');
    expect([session.statusCode, session.headers['cache-control']]).toEqual([200, 'private, no-store']);
    // Those that say their own keep it: the map layer revalidates, the health check is no-store.
    expect((await t.app.inject({ method: 'GET', url: '/api/polygons.geojson', headers: await auth('nr') })).headers['cache-control']).toBe('private, no-cache');
    expect((await t.app.inject({ method: 'GET', url: '/api/health' })).headers['cache-control']).toBe('no-store');
  });
});

describe('a body or query made to be refused at length', () => {
  it('is refused in a few lines, without signing in too: raw bytes to a JSON route, a hundred thousand unknown fields or parameters', async () => {
    // Raw bytes (a content type only evidence takes) were read as an object of a million fields, each
    // one named back: 1 MB to the sign-in took 17 s of the server's one thread and answered 146 MB.
    const raw = await t.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(1_000_000, 0x41) });
    expect([raw.statusCode, raw.json().code]).toEqual([415, 'BODY.UNSUPPORTED_TYPE']);
    expect(raw.json().message).toMatch(/application\/json/);
    expect(raw.rawPayload.length).toBeLessThan(2000);
    const notes = await t.app.inject({
      method: 'POST',
      url: `/api/polygons/${CODE}/notes`,
      headers: { authorization: `Bearer ${await t.token('nr')}`, 'content-type': 'image/jpeg' },
      payload: Buffer.from('{"text":"现场"}'),
    });
    expect([notes.statusCode, notes.json().code]).toEqual([415, 'BODY.UNSUPPORTED_TYPE']);
    // A JSON object of 100 000 unknown fields (1 MB): the first few named, the rest counted.
    const fields = '{' + Array.from({ length: 100_000 }, (_, i) => `"k${i}":1`).join(',') + '}';
    const many = await t.app.inject({ method: 'POST', url: '/api/session', headers: { 'content-type': 'application/json' }, payload: fields });
    expect([many.statusCode, many.json().code]).toEqual([400, 'VALIDATION']);
    expect(many.json().message).toContain("body.k0: unknown field 'k0'");
    expect(many.json().message).toMatch(/and 9998\d more$/);
    expect(many.rawPayload.length).toBeLessThan(10_000);
    const query = '/api/polygons?' + Array.from({ length: 3000 }, (_, i) => `q${i}=1`).join('&');
    const params = await t.app.inject({ method: 'GET', url: query, headers: { authorization: `Bearer ${await t.token('nr')}` } });
    expect([params.statusCode, params.json().code]).toEqual([400, 'VALIDATION']);
    expect(params.json().message).toMatch(/and 29\d\d more$/);
    expect(params.rawPayload.length).toBeLessThan(10_000);
  });
});

describe('a request the HTTP parser refuses', () => {
  it('gets the API error shape and what to do (raw Chinese in the URL), not a bare "Client Error"', async () => {
    const { connect } = await import('node:net');
    const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(base);
    const raw = await new Promise<string>((done, fail) => {
      const s = connect(port, '127.0.0.1', () => s.write(Buffer.concat([Buffer.from('GET /api/polygons/X/evidence?name='), Buffer.from('现场.jpg', 'utf8'), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')])));
      let got = '';
      s.on('data', (d) => (got += d.toString('utf8')));
      s.on('end', () => done(got));
      s.on('error', fail);
    });
    expect(raw.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(body.code).toBe('REQUEST.MALFORMED');
    expect(body.message).toContain('percent-encode');
  });
});
