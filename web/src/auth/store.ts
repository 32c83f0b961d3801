import { loadSession, saveSession, type Session, type SignOutReason } from './session';

/** AuthSnapshot is the observable state of a SessionStore. */
export interface AuthSnapshot {
  session: Session | null;
  notice: SignOutReason | null;
}

/**
 * SessionStore holds the signed-in session outside React so that the ApiClient can read the
 * current token at request time. It persists to sessionStorage and notifies subscribers.
 */
export class SessionStore {
  private snap: AuthSnapshot;
  private readonly listeners = new Set<() => void>();

  constructor(initial: Session | null = loadSession()) {
    this.snap = { session: initial, notice: null };
  }

  /** snapshot returns the current state (a new object after every change). */
  snapshot = (): AuthSnapshot => this.snap;

  /** subscribe registers a listener and returns its unsubscribe function. */
  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  /** token returns the current access token, or null. */
  token = (): string | null => this.snap.session?.token ?? null;

  /** signIn stores a new session and clears any notice. */
  signIn(session: Session): void {
    saveSession(session);
    this.set({ session, notice: null });
  }

  /** signOut drops the session. The notice is only recorded when there was a session to lose
   * (a late 401 from a request of a session already ended must not overwrite "signed out"). */
  signOut(reason: SignOutReason): boolean {
    const had = this.snap.session !== null;
    saveSession(null);
    this.set({ session: null, notice: had || reason === 'logout' ? reason : this.snap.notice });
    return had;
  }

  /** clearNotice forgets the last sign-out reason. */
  clearNotice(): void {
    if (this.snap.notice) this.set({ ...this.snap, notice: null });
  }

  private set(next: AuthSnapshot): void {
    this.snap = next;
    this.listeners.forEach((l) => l());
  }
}
