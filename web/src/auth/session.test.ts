import { describe, expect, it } from 'vitest';
import { loadSession, saveSession, tokenExpiry } from './session';
import { SessionStore } from './store';

function jwt(claims: object): string {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${b64({ alg: 'EdDSA', typ: 'JWT' })}.${b64(claims)}.sig`;
}

const user = { id: 'u', email: 'a@b.c', name: 'A', created_at: '' };

describe('tokenExpiry', () => {
  it('uses expires_in', () => {
    expect(tokenExpiry('opaque', 900, 1_000)).toBe(901_000);
  });
  it('takes the earlier JWT exp', () => {
    expect(tokenExpiry(jwt({ exp: 500 }), 900, 1_000)).toBe(500_000);
  });
});

describe('session storage', () => {
  it('round-trips and drops expired sessions', () => {
    saveSession({ token: 't', expiresAt: 2_000, user });
    expect(loadSession(1_000)?.token).toBe('t');
    expect(loadSession(3_000)).toBeNull();
    expect(sessionStorage.getItem('wildcat.session')).toBeNull();
  });
  it('keeps nothing in cookies', () => {
    saveSession({ token: 't', expiresAt: Date.now() + 60_000, user });
    expect(document.cookie).toBe('');
  });
});

describe('SessionStore', () => {
  it('records why the user was signed out, once', () => {
    const s = new SessionStore(null);
    s.signIn({ token: 't', expiresAt: Date.now() + 60_000, user });
    expect(s.token()).toBe('t');
    expect(s.signOut('expired')).toBe(true);
    expect(s.snapshot().notice).toBe('expired');
    // A late 401 from a request of the ended session must not change the message.
    expect(s.signOut('unauthorized')).toBe(false);
    expect(s.snapshot().notice).toBe('expired');
    expect(s.token()).toBeNull();
  });
});
