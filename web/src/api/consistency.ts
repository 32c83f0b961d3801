import { useSyncExternalStore } from 'react';

// The newest X-Consistency-Token this tab has received. Query API reads pass it along, so
// whatever this user just wrote is visible in the next read (SPEC §5, read-your-writes).
let token: string | null = null;
const listeners = new Set<() => void>();

/** setConsistencyToken records the token of a write that just succeeded. */
export function setConsistencyToken(next: string | null): void {
  if (!next || next === token) return;
  token = next;
  listeners.forEach((l) => l());
}

/** getConsistencyToken returns the newest token, or null before any write. */
export function getConsistencyToken(): string | null {
  return token;
}

/** useConsistencyToken subscribes a component to the newest token. */
export function useConsistencyToken(): string | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => token,
    () => token,
  );
}
