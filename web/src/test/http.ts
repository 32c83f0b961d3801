import { vi } from 'vitest';

/** Call is one request seen by a fake fetch. */
export interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

/** Reply describes a fake response. */
export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

type Handler = (call: Call) => Reply | Promise<Reply>;

/** Route matches method and path (exact string or RegExp on the pathname). */
export type Route = [method: string, path: string | RegExp, handler: Handler | Reply];

/** fakeFetch returns a fetch that answers from routes and records every call; unknown routes get 404 problem+json. */
export function fakeFetch(routes: Route[]) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    await Promise.resolve();
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, 'http://localhost');
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init?.headers);
    const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const call: Call = { method, url, headers, body };
    calls.push(call);
    for (const [m, p, h] of routes) {
      if (m !== method) continue;
      if (typeof p === 'string' ? url.pathname !== p : !p.test(url.pathname)) continue;
      const r = typeof h === 'function' ? await h(call) : h;
      return respond(r);
    }
    return respond({ status: 404, body: { title: 'Not Found', status: 404, code: 'not_found', detail: `no route ${method} ${url.pathname}` } });
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

function respond(r: Reply): Response {
  const status = r.status ?? 200;
  const headers = new Headers(r.headers);
  if (r.body === undefined || status === 204) return new Response(null, { status, headers });
  if (typeof r.body === 'string' || r.body instanceof Blob) return new Response(r.body, { status, headers });
  if (!headers.has('Content-Type')) {
    headers.set('Content-Type', status >= 400 ? 'application/problem+json' : 'application/json');
  }
  return new Response(JSON.stringify(r.body), { status, headers });
}
