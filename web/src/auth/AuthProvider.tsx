import { useCallback, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { notifications } from '@mantine/notifications';
import { useTranslation } from 'react-i18next';
import { ApiClient } from '../api/client';
import { AuthContext, type AuthState } from './context';
import { tokenExpiry, type Session, type SignOutReason } from './session';
import { SessionStore } from './store';

// Timers longer than ~24.8 days overflow setTimeout; tokens live minutes anyway.
const MAX_TIMEOUT = 2 ** 31 - 1;
const WARN_BEFORE_MS = 60_000;

/** AuthProvider owns the session and the ApiClient that uses it. */
export function AuthProvider({ children, fetchImpl }: { children: ReactNode; fetchImpl?: typeof fetch }) {
  const queryClient = useQueryClient();
  const { t } = useTranslation();
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

  // Warn a minute ahead, then sign out when the token expires, so nobody works on with a dead session.
  useEffect(() => {
    if (!session) return;
    const ms = Math.max(0, session.expiresAt - Date.now());
    const id = setTimeout(() => logout('expired'), Math.min(ms, MAX_TIMEOUT));
    const warnIn = ms - WARN_BEFORE_MS;
    const warn =
      warnIn > 0
        ? setTimeout(() => notifications.show({ id: 'session-expiring', color: 'yellow', message: t('auth.expiring'), autoClose: WARN_BEFORE_MS }), Math.min(warnIn, MAX_TIMEOUT))
        : undefined;
    return () => {
      clearTimeout(id);
      clearTimeout(warn);
    };
  }, [session, logout, t]);

  const clearNotice = useCallback(() => store.clearNotice(), [store]);

  const value = useMemo<AuthState>(
    () => ({ session, api, notice, login, logout, clearNotice }),
    [session, api, notice, login, logout, clearNotice],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
