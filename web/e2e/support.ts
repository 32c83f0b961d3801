import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import type { CreatedPayment, Customer, Login, NewCustomer, NewPayment, Payment, PaymentStatus, SignUp, TokenResponse, User } from '../src/api/types';

/** TestUser is an account made for one test run: the body of its sign-up. */
export type TestUser = SignUp;

/** runId is unique per run so tests never collide with earlier data in the same stack. */
export const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

/** newUser returns fresh random credentials. */
export function newUser(tag: string): TestUser {
  const id = `${runId}${Math.random().toString(36).slice(2, 6)}`;
  return { name: `E2E ${tag} ${id}`, email: `e2e-${tag}-${id}@example.com`, password: `pw-${id}-long-enough` };
}

/** dayInZone returns YYYY-MM-DD of an instant in a time zone. */
export function dayInZone(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** daysAgo returns the calendar day `n` days before today in the browser's zone, and noon UTC of it. */
export function daysAgo(n: number, timeZone = 'Europe/Copenhagen'): { day: string; noonUtc: string } {
  const [y, m, d] = dayInZone(new Date(), timeZone).split('-').map(Number) as [number, number, number];
  const noon = new Date(Date.UTC(y, m - 1, d - n, 12));
  return { day: noon.toISOString().slice(0, 10), noonUtc: noon.toISOString().replace(/\.\d{3}Z$/, 'Z') };
}

/** Api talks to the stack through the web origin, as the browser does. */
export class Api {
  constructor(private readonly request: APIRequestContext) {}

  private async ok<T>(what: string, res: Awaited<ReturnType<APIRequestContext['get']>>): Promise<T> {
    if (!res.ok()) throw new Error(`${what}: HTTP ${res.status()} ${await res.text()}`);
    return (res.status() === 204 ? undefined : await res.json()) as T;
  }

  async signUp(u: TestUser): Promise<User> {
    return this.ok('sign up', await this.request.post('/api/command/v1/users', { data: u }));
  }

  async token(u: TestUser): Promise<string> {
    const data: Login = { email: u.email, password: u.password };
    const r = await this.ok<TokenResponse>('token', await this.request.post('/api/command/v1/auth/token', { data }));
    return r.access_token;
  }

  async createCustomer(token: string, name: string): Promise<{ id: string; consistency: string }> {
    const data: NewCustomer = { name };
    const res = await this.request.post('/api/command/v1/customers', { data, headers: { Authorization: `Bearer ${token}` } });
    const c = await this.ok<Customer>('create customer', res);
    return { id: c.id, consistency: res.headers()['x-consistency-token'] ?? '' };
  }

  async createPayment(token: string, body: NewPayment): Promise<CreatedPayment & { consistency: string }> {
    const res = await this.request.post('/api/command/v1/payments', {
      data: body,
      headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': `e2e-${runId}-${Math.random().toString(36).slice(2)}` },
    });
    const p = await this.ok<CreatedPayment>('create payment', res);
    return { ...p, consistency: res.headers()['x-consistency-token'] ?? '' };
  }

  /** waitFor returns once the query API has applied the write with this consistency token. The API
   * waits up to 5 s per request and then answers 503 with Retry-After; a loaded machine may need a
   * few rounds. */
  async waitFor(token: string, consistency: string, deadlineMs = 90_000): Promise<void> {
    if (!consistency) return;
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const res = await this.request.get(`/api/query/v1/payments?limit=1&consistency_token=${encodeURIComponent(consistency)}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (res.status() !== 503 || Date.now() > deadline) {
        await this.ok('read-your-writes', res);
        return;
      }
      const after = Number(res.headers()['retry-after'] ?? '1');
      await new Promise((r) => setTimeout(r, Math.min(Math.max(after, 1), 5) * 1000));
    }
  }
}

/** WEBHOOK_RECEIVER is the stack's webhook receiver (cmd/webhook-receiver): it verifies each signed
 * delivery, records it and answers as it is told to. */
export const WEBHOOK_RECEIVER = (process.env.WEBHOOK_RECEIVER ?? 'http://127.0.0.1:8095').replace(/\/+$/, '');

/** ReceiverBehaviour is how the receiver answers: per hook name and event id, delivery n is dropped
 * when n <= drop_first, else answered `status` when n <= fail_first, else accepted (200). */
export interface ReceiverBehaviour {
  fail_first: number;
  drop_first: number;
  status: number;
  delay_ms: number;
}

/** ReceiverRecord is one delivery the receiver got (GET /_admin/received?records=true). */
export interface ReceiverRecord {
  hook: string;
  event_id: string;
  type?: string;
  attempt?: number;
  received_at: string;
  signature_ok: boolean;
  outcome: 'accepted' | 'failed' | 'dropped' | 'bad_signature' | 'bad_payload';
}

/** ReceiverReport is GET /_admin/received: counts over every hook since the receiver started (or was reset). */
export interface ReceiverReport {
  deliveries: number;
  accepted: number;
  failed: number;
  dropped: number;
  bad_signatures: number;
  bad_payloads: number;
  unique_events: number;
  delivered_events: number;
  per_event: Record<string, number>;
  records?: ReceiverRecord[];
  records_dropped: number;
}

/** Receiver drives the stack's webhook receiver through its admin API. Its state (secrets, behaviour,
 * counts) is shared by everyone using it: tests tell their deliveries apart by hook name and event id. */
export class Receiver {
  constructor(
    private readonly request: APIRequestContext,
    readonly base = WEBHOOK_RECEIVER,
  ) {}

  /** hookUrl is where an endpoint named `name` receives its deliveries. */
  hookUrl(name: string): string {
    return `${this.base}/hooks/${encodeURIComponent(name)}`;
  }

  private async call<T>(what: string, method: 'GET' | 'POST', path: string, data?: unknown): Promise<T> {
    let res: Awaited<ReturnType<APIRequestContext['get']>>;
    try {
      res = await this.request.fetch(`${this.base}${path}`, { method, data });
    } catch (err) {
      throw new Error(`webhook receiver ${what}: ${this.base} is not reachable (is the stack up, and WEBHOOK_RECEIVER right?): ${String(err)}`);
    }
    if (!res.ok()) throw new Error(`webhook receiver ${what}: HTTP ${res.status()} ${await res.text()}`);
    return (res.status() === 204 ? undefined : await res.json()) as T;
  }

  /** addSecret makes the receiver accept deliveries signed with this endpoint secret. */
  async addSecret(secret: string): Promise<void> {
    await this.call('add secret', 'POST', '/_admin/secrets', { secret });
  }

  async behaviour(): Promise<ReceiverBehaviour> {
    return this.call('behaviour', 'GET', '/_admin/behaviour');
  }

  /** setBehaviour replaces the whole behaviour (a field left out is 0; status 0 means 500). */
  async setBehaviour(b: Partial<ReceiverBehaviour>): Promise<ReceiverBehaviour> {
    return this.call('set behaviour', 'POST', '/_admin/behaviour', b);
  }

  async received(records = false): Promise<ReceiverReport> {
    return this.call('received', 'GET', `/_admin/received${records ? '?records=true' : ''}`);
  }
}

/** waitForStatus polls the query API until the payment has one of the statuses (the processor and
 * the projector move it on their own time) and returns it; it fails after the deadline. */
export async function waitForStatus(
  request: APIRequestContext,
  token: string,
  id: string,
  statuses: PaymentStatus[],
  deadlineMs = 90_000,
): Promise<Payment> {
  let last: Payment | null = null;
  await expect
    .poll(
      async () => {
        const res = await request.get(`/api/query/v1/payments/${id}`, { headers: { Authorization: `Bearer ${token}` } });
        if (!res.ok()) return `HTTP ${res.status()}`;
        last = (await res.json()) as Payment;
        return last.status;
      },
      { timeout: deadlineMs, intervals: [250, 500, 1000, 2000] },
    )
    .toMatch(new RegExp(`^(${statuses.join('|')})$`));
  if (!last) throw new Error(`payment ${id} never answered`);
  return last;
}

/** passwordInput is the password field (not the "show password" button that shares the word). */
export function passwordInput(page: Page): Locator {
  return page.getByRole('textbox', { name: /^(Password|Adgangskode)$/ });
}

/** logIn signs in through the login page and waits for the payments page. */
export async function logIn(page: Page, u: TestUser): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(u.email);
  await passwordInput(page).fill(u.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/payments/);
  await expect(page.getByRole('heading', { level: 1, name: 'Payments', exact: true })).toBeVisible();
}

/** sessionToken reads the access token the UI holds for this tab. */
export async function sessionToken(page: Page): Promise<string> {
  const raw = await page.evaluate(() => sessionStorage.getItem('wildcat.session'));
  if (!raw) throw new Error('no session in sessionStorage');
  return (JSON.parse(raw) as { token: string }).token;
}

/** pickOption opens a Mantine (Multi)Select by its label, types to narrow, and picks the option.
 * A MultiSelect keeps its list open after a pick; closeAfter closes it with Escape. */
export async function pickOption(scope: Page | Locator, page: Page, label: string, option: string, closeAfter = false): Promise<void> {
  const input = scope.getByRole('textbox', { name: label, exact: true }).or(scope.getByRole('combobox', { name: label, exact: true })).first();
  await input.click();
  await input.fill(option);
  await page.getByRole('option', { name: option, exact: true }).click();
  if (closeAfter) await input.press('Escape');
}

/** expectNoSeriousViolations runs axe-core (WCAG 2.1 A/AA rules) on the page and fails on serious or critical violations.
 * It first waits for running CSS transitions and animations (a modal fading in or out has colours half-way,
 * which axe would judge as they are at that instant). */
export async function expectNoSeriousViolations(page: Page, what: string) {
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))));
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.impact}: ${v.id} — ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`).join('\n');
  expect(bad, `${what}: axe violations\n${report}`).toEqual([]);
}

/** seedAnalytics makes a user with payments 1 and 4 days ago in EUR and DKK, one of them declined. */
export async function seedAnalytics(page: Page, api: Api, tag: string): Promise<void> {
  const user = newUser(tag);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E Analytics Shop ${runId}`);
  const made = [];
  for (const [amount, currency, ago, party] of [
    [1_000, 'EUR', 1, `Analytics Supplier ${runId}`],
    [2_500, 'EUR', 1, `Analytics Supplier ${runId}`],
    [7_700, 'DKK', 4, `Analytics Supplier ${runId}`],
    [4_200, 'DKK', 4, 'sim:decline:insufficient_funds'],
  ] as const) {
    made.push(await api.createPayment(token, { customer_id: shop.id, amount, currency, third_party: party, date: daysAgo(ago).noonUtc }));
  }
  for (const p of made) await waitForStatus(page.request, token, p.id, ['succeeded', 'failed']);
  await logIn(page, user);
}
