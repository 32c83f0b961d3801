// mock-stack.mjs — an in-memory stand-in for the command and query APIs behind the web origin,
// serving web/dist like cmd/web does. It follows the API contract (SPEC §3-§5) closely enough to
// develop the UI and the e2e suite without PostgreSQL and the search engine. It is not the
// product: `npm run e2e` runs against the real stack; `npm run e2e -- --mock` against this.
//
//   node e2e/mock-stack.mjs [--port 4173]
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json', '.json': 'application/json' };
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TOKEN_TTL = 15 * 60;

class Problem extends Error {
  constructor(status, code, title, detail, errors) {
    super(detail ?? title);
    Object.assign(this, { status, code, title, detail, errors });
  }
}
const invalid = (errors, detail = 'The request has invalid fields.') => new Problem(422, 'invalid', 'Invalid request', detail, errors);
const notFound = () => new Problem(404, 'not_found', 'Not Found', 'The resource does not exist.');

/** createMockStack returns a fresh in-memory backend and an HTTP request handler for it. */
export function createMockStack() {
  const users = new Map(); // id -> user (with password)
  const tokens = new Map(); // token -> { userId, exp }
  const customers = new Map(); // id -> customer
  const links = new Set(); // `${customerId}:${userId}`
  const payments = [];
  const idem = new Map(); // `${userId}:${key}` -> { body, status, response }
  let lsn = 0;
  const write = () => String(++lsn);

  const byEmail = (email) => [...users.values()].find((u) => u.email.toLowerCase() === email.toLowerCase());
  const linked = (userId) => [...customers.values()].filter((c) => links.has(`${c.id}:${userId}`));
  const publicUser = (u) => ({ id: u.id, email: u.email, name: u.name, created_at: u.created_at });

  function auth(req) {
    const h = req.headers.authorization ?? '';
    const tok = h.startsWith('Bearer ') ? h.slice(7) : '';
    const t = tokens.get(tok);
    if (!t || t.exp < Date.now() / 1000) throw new Problem(401, 'unauthorized', 'Unauthorized', 'A valid bearer token is required.');
    return users.get(t.userId);
  }

  function checkParams(q, allowed) {
    const errors = [...new Set(q.keys())].filter((k) => !allowed.includes(k)).map((k) => ({ field: k, message: 'is not a known parameter' }));
    if (errors.length) throw new Problem(400, 'invalid', 'Invalid query', 'Unknown query parameters.', errors);
  }

  const FILTERS = ['from', 'to', 'customer_id', 'user_id', 'status', 'currency', 'payment_ref_id', 'amount_min', 'amount_max', 'q'];

  function filtered(user, q) {
    const visible = new Set(linked(user.id).map((c) => c.id));
    const errors = [];
    const time = (k) => {
      const v = q.get(k);
      if (!v) return null;
      const t = Date.parse(v);
      if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) errors.push({ field: k, message: 'must be an RFC 3339 date-time' });
      return t;
    };
    const from = time('from');
    const to = time('to');
    if (from !== null && to !== null && to <= from) errors.push({ field: 'to', message: 'must be later than from' });
    const cids = q.getAll('customer_id');
    const uids = q.getAll('user_id');
    for (const [k, v] of [['customer_id', cids], ['user_id', uids]]) if (v.some((x) => !UUID.test(x))) errors.push({ field: k, message: 'must be a UUID' });
    const statuses = q.getAll('status');
    if (statuses.some((s) => !['pending', 'succeeded', 'failed'].includes(s))) errors.push({ field: 'status', message: 'must be one of pending, succeeded, failed' });
    const currencies = q.getAll('currency');
    const amt = (k) => {
      const v = q.get(k);
      if (!v) return null;
      if (!/^\d{1,19}$/.test(v)) errors.push({ field: k, message: 'must be an integer number of minor units' });
      return Number(v);
    };
    const min = amt('amount_min');
    const max = amt('amount_max');
    const ref = q.get('payment_ref_id');
    if (ref && !UUID.test(ref)) errors.push({ field: 'payment_ref_id', message: 'must be a UUID' });
    if (errors.length) throw new Problem(400, 'invalid', 'Invalid query', 'The query has invalid parameters.', errors);
    const text = (q.get('q') ?? '').toLowerCase().trim();
    return payments.filter((p) => {
      if (!visible.has(p.customer_id)) return false;
      const d = Date.parse(p.date);
      if (from !== null && d < from) return false;
      if (to !== null && d >= to) return false;
      if (cids.length && !cids.includes(p.customer_id)) return false;
      if (uids.length && !uids.includes(p.user_id)) return false;
      if (statuses.length && !statuses.includes(p.status)) return false;
      if (currencies.length && !currencies.includes(p.currency)) return false;
      if (min !== null && p.amount < min) return false;
      if (max !== null && p.amount > max) return false;
      if (ref && p.payment_ref_id !== ref.toLowerCase()) return false;
      if (text) {
        const c = customers.get(p.customer_id);
        const hay = `${p.third_party} ${p.description ?? ''} ${c?.name ?? ''}`.toLowerCase();
        if (!hay.includes(text)) return false;
      }
      return true;
    });
  }

  function sorted(list, sort) {
    const [field, desc] = sort.startsWith('-') ? [sort.slice(1), true] : [sort, false];
    const key = (p) => (field === 'amount' ? p.amount : Date.parse(p.date));
    return [...list].sort((a, b) => {
      const c = key(a) - key(b) || a.id.localeCompare(b.id);
      return desc ? -c : c;
    });
  }

  function doc(p) {
    const c = customers.get(p.customer_id);
    const u = users.get(p.user_id);
    return { ...p, customer_name: c?.name, user_name: u?.name, user_email: u?.email };
  }

  function dayIn(iso, tz) {
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
  }

  const csvCell = (v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };

  function validatePayment(b, user) {
    const errors = [];
    const known = ['customer_id', 'amount', 'currency', 'third_party', 'description', 'payment_ref_id', 'date'];
    for (const k of Object.keys(b ?? {})) if (!known.includes(k)) errors.push({ field: k, message: 'is not a known field' });
    if (typeof b?.customer_id !== 'string' || !UUID.test(b.customer_id)) errors.push({ field: 'customer_id', message: 'must be a UUID' });
    else if (!links.has(`${b.customer_id}:${user.id}`)) throw notFound();
    if (!Number.isInteger(b?.amount) || b.amount <= 0 || b.amount > 1e15) errors.push({ field: 'amount', message: 'must be an integer from 1 to 10^15 minor units' });
    if (typeof b?.currency !== 'string' || !CURRENCIES.has(b.currency)) errors.push({ field: 'currency', message: 'must be an upper-case ISO 4217 code' });
    if (typeof b?.third_party !== 'string' || b.third_party.length < 1 || b.third_party.length > 64) errors.push({ field: 'third_party', message: 'must be 1 to 64 characters' });
    if (b?.description !== undefined && (typeof b.description !== 'string' || b.description.length > 500)) errors.push({ field: 'description', message: 'must be at most 500 characters' });
    if (b?.payment_ref_id !== undefined && !UUID.test(String(b.payment_ref_id))) errors.push({ field: 'payment_ref_id', message: 'must be a UUID' });
    if (b?.date !== undefined && Number.isNaN(Date.parse(String(b.date)))) errors.push({ field: 'date', message: 'must be an RFC 3339 date-time' });
    if (errors.length) throw invalid(errors);
  }

  async function command(req, path, body, res) {
    const m = req.method;
    if (m === 'GET' && path === '/healthz') return [200, { status: 'ok' }];
    if (m === 'POST' && path === '/v1/users') {
      const errors = [];
      if (typeof body?.email !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(body.email)) errors.push({ field: 'email', message: 'must be an email address' });
      if (typeof body?.password !== 'string' || body.password.length < 12) errors.push({ field: 'password', message: 'must be at least 12 characters' });
      if (typeof body?.name !== 'string' || !body.name.trim()) errors.push({ field: 'name', message: 'is required' });
      if (errors.length) throw invalid(errors);
      if (byEmail(body.email)) throw new Problem(409, 'conflict', 'Conflict', 'A user with this email already exists.');
      const u = { id: randomUUID(), email: body.email, name: body.name.trim(), password: body.password, created_at: new Date().toISOString() };
      users.set(u.id, u);
      res.setHeader('X-Consistency-Token', write());
      return [201, publicUser(u)];
    }
    if (m === 'POST' && path === '/v1/auth/token') {
      const u = typeof body?.email === 'string' ? byEmail(body.email) : undefined;
      if (!u || u.password !== body.password) throw new Problem(401, 'unauthorized', 'Unauthorized', 'The email or password is wrong.');
      const exp = Math.floor(Date.now() / 1000) + TOKEN_TTL;
      const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: u.id, exp, jti: randomUUID() })}.mock`;
      tokens.set(token, { userId: u.id, exp });
      return [200, { access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL }];
    }
    const user = auth(req);
    if (m === 'GET' && path === '/v1/me') return [200, publicUser(user)];
    if (m === 'POST' && path === '/v1/customers') {
      if (typeof body?.name !== 'string' || !body.name.trim()) throw invalid([{ field: 'name', message: 'is required' }]);
      const now = new Date().toISOString();
      const c = { id: randomUUID(), name: body.name.trim(), email: body.email || null, created_at: now, updated_at: now };
      customers.set(c.id, c);
      links.add(`${c.id}:${user.id}`);
      res.setHeader('X-Consistency-Token', write());
      return [201, c];
    }
    let mm = /^\/v1\/customers\/([^/]+)$/.exec(path);
    if (m === 'PATCH' && mm) {
      const c = customers.get(mm[1]);
      if (!c || !links.has(`${c.id}:${user.id}`)) throw notFound();
      if (body?.name !== undefined) {
        if (typeof body.name !== 'string' || !body.name.trim()) throw invalid([{ field: 'name', message: 'must not be empty' }]);
        c.name = body.name.trim();
      }
      if (body?.email !== undefined) c.email = body.email || null;
      c.updated_at = new Date().toISOString();
      res.setHeader('X-Consistency-Token', write());
      return [200, c];
    }
    mm = /^\/v1\/customers\/([^/]+)\/users$/.exec(path);
    if (m === 'POST' && mm) {
      const c = customers.get(mm[1]);
      if (!c || !links.has(`${c.id}:${user.id}`)) throw notFound();
      const other = typeof body?.email === 'string' ? byEmail(body.email) : undefined;
      if (!other) throw new Problem(404, 'not_found', 'Not Found', 'No user has this email.');
      links.add(`${c.id}:${other.id}`);
      res.setHeader('X-Consistency-Token', write());
      return [204, null];
    }
    mm = /^\/v1\/customers\/([^/]+)\/users\/([^/]+)$/.exec(path);
    if ((m === 'PUT' || m === 'DELETE') && mm) {
      const c = customers.get(mm[1]);
      if (!c || !links.has(`${c.id}:${user.id}`)) throw notFound();
      if (m === 'PUT') {
        if (!users.has(mm[2])) throw notFound();
        links.add(`${c.id}:${mm[2]}`);
      } else if (links.has(`${c.id}:${mm[2]}`)) {
        const count = [...links].filter((l) => l.startsWith(`${c.id}:`)).length;
        if (count <= 1) throw new Problem(409, 'conflict', 'Conflict', 'The last link of a customer cannot be removed.');
        links.delete(`${c.id}:${mm[2]}`);
      }
      res.setHeader('X-Consistency-Token', write());
      return [204, null];
    }
    if (m === 'POST' && path === '/v1/payments') {
      const key = req.headers['idempotency-key'];
      const raw = JSON.stringify(body);
      const ik = key ? `${user.id}:${key}` : null;
      if (ik && idem.has(ik)) {
        const prev = idem.get(ik);
        if (prev.body !== raw) throw new Problem(422, 'idempotency_key_reused', 'Idempotency key reused', 'This Idempotency-Key was used with a different request body.');
        res.setHeader('Idempotent-Replayed', 'true');
        res.setHeader('X-Consistency-Token', prev.token);
        return [prev.status, prev.response];
      }
      validatePayment(body, user);
      const ref = (body.payment_ref_id ?? randomUUID()).toLowerCase();
      if (payments.some((p) => p.payment_ref_id === ref)) throw new Problem(409, 'conflict', 'Conflict', 'A payment with this payment_ref_id exists.');
      const now = new Date().toISOString();
      const p = {
        id: randomUUID(),
        payment_ref_id: ref,
        customer_id: body.customer_id,
        user_id: user.id,
        amount: body.amount,
        currency: body.currency,
        third_party: body.third_party,
        description: body.description ?? null,
        status: 'pending',
        date: body.date ? new Date(body.date).toISOString() : now,
        created_at: now,
        updated_at: now,
      };
      payments.push(p);
      const token = write();
      if (ik) idem.set(ik, { body: raw, status: 201, response: p, token });
      res.setHeader('X-Consistency-Token', token);
      return [201, p];
    }
    throw notFound();
  }

  async function query(req, path, q, res) {
    if (req.method === 'GET' && path === '/healthz') return [200, { status: 'ok' }];
    if (req.method !== 'GET') throw notFound();
    const user = auth(req);
    if (path === '/v1/customers') {
      checkParams(q, ['consistency_token']);
      const data = linked(user.id).map((c) => ({
        id: c.id,
        name: c.name,
        email: c.email,
        users: [...links].filter((l) => l.startsWith(`${c.id}:`)).map((l) => publicUser(users.get(l.split(':')[1]))),
      }));
      return [200, { data }];
    }
    if (path === '/v1/payments') {
      checkParams(q, [...FILTERS, 'sort', 'limit', 'cursor', 'consistency_token']);
      const sort = q.get('sort') || '-date';
      if (!['date', '-date', 'amount', '-amount'].includes(sort)) throw invalid([{ field: 'sort', message: 'must be one of date, -date, amount, -amount' }]);
      const limit = q.has('limit') ? Number(q.get('limit')) : 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw invalid([{ field: 'limit', message: 'must be an integer from 1 to 500' }]);
      const all = sorted(filtered(user, q), sort);
      let start = 0;
      if (q.get('cursor')) {
        try {
          const c = JSON.parse(Buffer.from(q.get('cursor'), 'base64url').toString());
          start = all.findIndex((p) => p.id === c.after) + 1;
          if (start <= 0) start = all.length;
        } catch {
          throw invalid([{ field: 'cursor', message: 'is not a cursor returned by this API' }]);
        }
      }
      const page = all.slice(start, start + limit);
      const hasMore = start + limit < all.length;
      const last = page.at(-1);
      return [200, {
        data: page.map(doc),
        next_cursor: hasMore && last ? Buffer.from(JSON.stringify({ after: last.id })).toString('base64url') : null,
        has_more: hasMore,
        total: all.length,
        total_relation: 'eq',
      }];
    }
    if (path === '/v1/payments/summary') {
      checkParams(q, [...FILTERS, 'tz', 'consistency_token']);
      const tz = q.get('tz') || 'UTC';
      const list = filtered(user, q);
      const sum = {};
      const status = {};
      const days = new Map();
      for (const p of list) {
        sum[p.currency] = (sum[p.currency] ?? 0) + p.amount;
        status[p.status] = (status[p.status] ?? 0) + 1;
        const d = dayIn(p.date, tz);
        const b = days.get(d) ?? { date: d, count: 0, sum_by_currency: {} };
        b.count++;
        b.sum_by_currency[p.currency] = (b.sum_by_currency[p.currency] ?? 0) + p.amount;
        days.set(d, b);
      }
      return [200, { count: list.length, sum_by_currency: sum, count_by_status: status, histogram: [...days.values()].sort((a, b) => a.date.localeCompare(b.date)) }];
    }
    if (path === '/v1/payments/export.csv') {
      checkParams(q, [...FILTERS, 'sort', 'consistency_token']);
      const list = sorted(filtered(user, q), q.get('sort') || '-date').map(doc);
      // The query API's columns (docs/query-api.md): amount_minor is the integer, amount its decimal.
      const cols = ['id', 'payment_ref_id', 'date', 'customer_id', 'customer_name', 'user_id', 'user_name', 'user_email', 'third_party', 'description', 'amount_minor', 'amount', 'currency', 'status'];
      const digits = (c) => new Intl.NumberFormat('en', { style: 'currency', currency: c }).resolvedOptions().maximumFractionDigits ?? 2;
      const decimal = (n, d) => (d === 0 ? String(n) : `${String(n).padStart(d + 1, '0').slice(0, -d)}.${String(n).padStart(d + 1, '0').slice(-d)}`);
      const row = (p) => ({ ...p, amount_minor: p.amount, amount: decimal(p.amount, digits(p.currency)) });
      const lines = [cols.join(','), ...list.map((p) => cols.map((c) => csvCell(row(p)[c])).join(','))];
      res.setHeader('Content-Disposition', 'attachment; filename="payments.csv"');
      return [200, lines.join('\n') + '\n', 'text/csv; charset=utf-8'];
    }
    const mm = /^\/v1\/payments\/([^/]+)$/.exec(path);
    if (mm) {
      checkParams(q, ['consistency_token']);
      const visible = new Set(linked(user.id).map((c) => c.id));
      const p = payments.find((x) => x.id === mm[1] && visible.has(x.customer_id));
      if (!p) throw notFound();
      return [200, doc(p)];
    }
    throw notFound();
  }

  async function serveStatic(path, res) {
    const file = normalize(join(DIST, decodeURIComponent(path)));
    let target = file.startsWith(DIST) ? file : join(DIST, 'index.html');
    try {
      if (!(await stat(target)).isFile()) target = join(DIST, 'index.html');
    } catch {
      target = join(DIST, 'index.html');
    }
    const data = await readFile(target);
    res.writeHead(200, { 'Content-Type': TYPES[extname(target)] ?? 'application/octet-stream' });
    res.end(data);
  }

  return async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://mock');
    try {
      let body;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const text = Buffer.concat(chunks).toString();
        if (text) {
          try {
            body = JSON.parse(text);
          } catch {
            throw new Problem(400, 'invalid', 'Malformed JSON', 'The body is not valid JSON.');
          }
        }
      }
      let out;
      if (url.pathname.startsWith('/api/command/')) out = await command(req, url.pathname.slice('/api/command'.length), body, res);
      else if (url.pathname.startsWith('/api/query/')) out = await query(req, url.pathname.slice('/api/query'.length), url.searchParams, res);
      else return await serveStatic(url.pathname, res);
      const [status, payload, type] = out;
      if (status === 204 || payload === null) {
        res.writeHead(status);
        res.end();
      } else if (typeof payload === 'string') {
        res.writeHead(status, { 'Content-Type': type ?? 'text/plain' });
        res.end(payload);
      } else {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(payload));
      }
    } catch (err) {
      const p = err instanceof Problem ? err : new Problem(500, 'internal', 'Internal Server Error', String(err));
      res.writeHead(p.status, { 'Content-Type': 'application/problem+json' });
      res.end(JSON.stringify({ type: `https://wildcat.dev/problems/${p.code}`, title: p.title, status: p.status, detail: p.detail, code: p.code, ...(p.errors ? { errors: p.errors } : {}) }));
    }
  };
}

/** startMockStack listens on 127.0.0.1:port (0 = any free port) and returns its URL and a close function. */
export function startMockStack(port = 0) {
  const server = createServer(createMockStack());
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ url: `http://127.0.0.1:${addr.port}`, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 4173;
  const { url } = await startMockStack(port);
  console.log(`mock stack on ${url} (serving ${DIST})`);
}
