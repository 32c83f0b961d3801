import { useCallback, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiClient } from '../api/client';
import { AuthContext, type AuthState } from './context';
import { tokenExpiry, type Session, type SignOutReason } from './session';
import { SessionStore } from './store';

// Timers longer than ~24.8 days overflow setTimeout; tokens live minutes anyway.
const MAX_TIMEOUT = 2 ** 31 - 1;

/** AuthProvider owns the session and the ApiClient that uses it. */
export function AuthProvider({ children, fetchImpl }: { children: ReactNode; fetchImpl?: typeof fetch }) {
  const queryClient = useQueryClient();
  const [store] = useState(() => new SessionStore());
  const { session, notice } = useSyncExternalStore(store.subscribe, store.snapshot, store.snapshot);

  const logout = useCallback(
    (reason: SignOutReason = 'logout') => {
      store.signOut(reason);
      // Nothing of one user's data may survive into the next user's session.
      queryClient.clear();
    },
    [store, queryClient],
  );

  const [api] = useState(
    () =>
      new ApiClient({
        getToken: store.token,
        onUnauthorized: () => {
          store.signOut('unauthorized');
          queryClient.clear();
        },
        ...(fetchImpl ? { fetch: fetchImpl } : {}),
      }),
  );

  const login = useCallback(
    async (email: string, password: string) => {
      const tok = await api.token({ email, password });
      const user = await api.me(tok.access_token);
      const s: Session = { token: tok.access_token, expiresAt: tokenExpiry(tok.access_token, tok.expires_in), user };
      queryClient.clear();
      store.signIn(s);
      return s;
    },
    [api, queryClient, store],
  );

  // Sign out when the token expires, so nobody works on with a dead session.
  useEffect(() => {
    if (!session) return;
    const ms = Math.max(0, session.expiresAt - Date.now());
    const id = setTimeout(() => logout('expired'), Math.min(ms, MAX_TIMEOUT));
    return () => clearTimeout(id);
  }, [session, logout]);

  const clearNotice = useCallback(() => store.clearNotice(), [store]);

  const value = useMemo<AuthState>(
    () => ({ session, api, notice, login, logout, clearNotice }),
    [session, api, notice, login, logout, clearNotice],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
