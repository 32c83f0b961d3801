import type { User } from '../api/types';

/** Session is a signed-in user with their access token. */
export interface Session {
  token: string;
  /** expiresAt is the token's expiry in ms since the epoch. */
  expiresAt: number;
  user: User;
}

/** SignOutReason tells the login page why the user is there. */
export type SignOutReason = 'expired' | 'unauthorized' | 'logout';

// The token lives in memory and, so that a reload in the same tab keeps the user signed in,
// in sessionStorage (per tab, gone when the tab closes, never sent with requests like a cookie).
const KEY = 'wildcat.session';

/** loadSession returns the stored session, or null if there is none or it has expired. */
export function loadSession(now = Date.now()): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token !== 'string' || typeof s.expiresAt !== 'number' || !s.user) return null;
    if (s.expiresAt <= now) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s as Session;
  } catch {
    return null;
  }
}

/** saveSession stores or clears the session. */
export function saveSession(s: Session | null): void {
  try {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: the session stays in memory only
  }
}

/** tokenExpiry returns when a token expires: the earlier of expires_in and the JWT's exp claim. */
export function tokenExpiry(token: string, expiresIn: number, now = Date.now()): number {
  let expiresAt = now + Math.max(0, expiresIn) * 1000;
  const payload = token.split('.')[1];
  if (payload) {
    try {
      const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
      const claims = JSON.parse(json) as { exp?: unknown };
      if (typeof claims.exp === 'number') expiresAt = Math.min(expiresAt, claims.exp * 1000);
    } catch {
      // not a JWT we can read; trust expires_in
    }
  }
  return expiresAt;
}
