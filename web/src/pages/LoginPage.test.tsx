import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { fakeFetch, type Route } from '../test/http';
import { currentLocation, renderApp, signIn, TEST_USER } from '../test/render';

const emptyPage = { body: { data: [], next_cursor: null, has_more: false, total: 0, total_relation: 'eq' } };
const emptySummary = { body: { count: 0, sum_by_currency: {}, count_by_status: { pending: 0, processing: 0, succeeded: 0, failed: 0, canceled: 0 }, count_by_failure_code: {}, success_rate: null, histogram: [] } };
const appRoutes: Route[] = [
  ['GET', '/api/query/v1/customers', { body: { data: [] } }],
  ['GET', '/api/query/v1/payments/summary', emptySummary],
  ['GET', '/api/query/v1/payments', emptyPage],
];

afterEach(async () => {
  await i18n.changeLanguage('en');
});

describe('LoginPage', () => {
  it('signs in and goes where the user was heading', async () => {
    const { fetch, calls } = fakeFetch([
      ['POST', '/api/command/v1/auth/token', { body: { access_token: 'tok-1', token_type: 'Bearer', expires_in: 900 } }],
      ['GET', '/api/command/v1/me', { body: TEST_USER }],
      ...appRoutes,
    ]);
    renderApp('/payments?currency=DKK', fetch);
    // Not signed in: sent to login, remembering the way back.
    expect(await screen.findByRole('heading', { name: 'Sign in to Wildcat Payments' })).toBeInTheDocument();
    expect(currentLocation()).toBe('/login?next=%2Fpayments%3Fcurrency%3DDKK');

    await userEvent.type(screen.getByLabelText(/Email/), 'ada@example.com');
    await userEvent.type(screen.getByLabelText(/Password/, { selector: 'input' }), 'correct horse battery');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Payments' })).toBeInTheDocument();
    expect(currentLocation()).toBe('/payments?currency=DKK');
    const tokenCall = calls.find((c) => c.url.pathname.endsWith('/auth/token'));
    expect(tokenCall?.body).toEqual({ email: 'ada@example.com', password: 'correct horse battery' });
    const search = calls.find((c) => c.url.pathname === '/api/query/v1/payments');
    expect(search?.headers.get('Authorization')).toBe('Bearer tok-1');
    expect(JSON.parse(sessionStorage.getItem('wildcat.session') ?? '{}')).toMatchObject({ token: 'tok-1' });
    expect(document.cookie).toBe('');
  });

  it('says so when the credentials are wrong', async () => {
    const { fetch } = fakeFetch([
      ['POST', '/api/command/v1/auth/token', { status: 401, body: { title: 'Unauthorized', status: 401, code: 'unauthorized', detail: 'invalid credentials' } }],
    ]);
    renderApp('/login', fetch);
    await userEvent.type(await screen.findByLabelText(/Email/), 'ada@example.com');
    await userEvent.type(screen.getByLabelText(/Password/, { selector: 'input' }), 'wrong password!');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The email or password is not correct.');
  });

  it('validates before calling the API', async () => {
    const { fetch, calls } = fakeFetch([]);
    renderApp('/login', fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Enter your email address')).toBeInTheDocument();
    expect(screen.getByText('Enter your password')).toBeInTheDocument();
    expect(calls).toHaveLength(0);
  });

  it('brings the user back to login with a message on a 401', async () => {
    signIn();
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [] } }],
      ['GET', '/api/query/v1/payments', { status: 401, body: { title: 'Unauthorized', status: 401, code: 'unauthorized' } }],
      ['GET', '/api/query/v1/payments/summary', emptySummary],
    ]);
    renderApp('/payments', fetch);
    expect(await screen.findByText(/session is no longer valid/)).toBeInTheDocument();
    expect(currentLocation()).toMatch(/^\/login\?next=/);
    expect(sessionStorage.getItem('wildcat.session')).toBeNull();
  });

  it('signs out when the token expires', async () => {
    // Long enough for the page to render first on a loaded machine (with
    // 300 ms the heading could appear and be gone before the assertion).
    signIn(1500);
    const { fetch } = fakeFetch([...appRoutes]);
    renderApp('/payments', fetch);
    await screen.findByRole('heading', { name: 'Payments' });
    expect(await screen.findByText('Your session has expired. Please sign in again.', {}, { timeout: 4000 })).toBeInTheDocument();
  });

  it('warns a minute before the session ends', async () => {
    signIn(60_000 + 300);
    const { fetch } = fakeFetch([...appRoutes]);
    renderApp('/payments', fetch);
    expect(await screen.findByText(/Your session ends in about a minute/, {}, { timeout: 3000 })).toBeInTheDocument();
    expect(currentLocation()).toBe('/payments');
  });

  it('switches to Danish', async () => {
    const { fetch } = fakeFetch([]);
    renderApp('/login', fetch);
    await userEvent.selectOptions(await screen.findByLabelText('Language'), 'da');
    expect(await screen.findByRole('heading', { name: 'Log ind på Wildcat Payments' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Log ind' })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe('da');
    expect(localStorage.getItem('wildcat.language')).toBe('da');
  });
});

describe('SignupPage', () => {
  it('creates the account, signs in and lands on payments', async () => {
    const { fetch, calls } = fakeFetch([
      ['POST', '/api/command/v1/users', { status: 201, body: TEST_USER }],
      ['POST', '/api/command/v1/auth/token', { body: { access_token: 'tok-2', token_type: 'Bearer', expires_in: 900 } }],
      ['GET', '/api/command/v1/me', { body: TEST_USER }],
      ...appRoutes,
    ]);
    renderApp('/signup', fetch);
    await userEvent.type(await screen.findByLabelText(/Full name/), 'Ada Lovelace');
    await userEvent.type(screen.getByLabelText(/Email/), 'ada@example.com');
    await userEvent.type(screen.getByLabelText(/Password/, { selector: 'input' }), 'short');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('Use at least 12 characters')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText(/Password/, { selector: 'input' }), ' but now long enough');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    await waitFor(() => expect(currentLocation()).toBe('/payments'));
    expect(calls.find((c) => c.url.pathname === '/api/command/v1/users')?.body).toEqual({
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      password: 'short but now long enough',
    });
  });

  it('shows a taken email on the field', async () => {
    const { fetch } = fakeFetch([
      ['POST', '/api/command/v1/users', { status: 409, body: { title: 'Conflict', status: 409, code: 'email_taken' } }],
    ]);
    renderApp('/signup', fetch);
    await userEvent.type(await screen.findByLabelText(/Full name/), 'Ada');
    await userEvent.type(screen.getByLabelText(/Email/), 'ada@example.com');
    await userEvent.type(screen.getByLabelText(/Password/, { selector: 'input' }), 'long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Create account' }));
    expect(await screen.findByText('An account with this email already exists.')).toBeInTheDocument();
  });
});
