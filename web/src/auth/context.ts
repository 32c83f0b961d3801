import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/client';
import type { Session, SignOutReason } from './session';

/** AuthState is what useAuth returns. */
export interface AuthState {
  session: Session | null;
  api: ApiClient;
  /** notice is why the user was last signed out, for the login page to show. */
  notice: SignOutReason | null;
  login: (email: string, password: string) => Promise<Session>;
  logout: (reason?: SignOutReason) => void;
  clearNotice: () => void;
}

/** AuthContext carries the AuthState; AuthProvider supplies it. */
export const AuthContext = createContext<AuthState | null>(null);

/** useAuth returns the auth state; it must be used below AuthProvider. */
export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth must be used within AuthProvider');
  return ctx;
}

/** useApi returns the ApiClient of the current session. */
export function useApi(): ApiClient {
  return useAuth().api;
}

/** useSession returns the current session; only for components under RequireAuth. */
export function useSession(): Session {
  const { session } = useAuth();
  if (!session) throw new Error('useSession used without a session');
  return session;
}
