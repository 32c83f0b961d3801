import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './api/problem';

function retry(failureCount: number, err: unknown): boolean {
  // Client errors will not get better by asking again.
  if (err instanceof ApiError && err.status >= 400 && err.status < 500) return false;
  // Server trouble (a 503 while the read model catches up, a restart) usually passes in seconds.
  return failureCount < 3;
}

/** newQueryClient builds the query cache used by the app (and by tests). */
export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { retry, staleTime: 15_000, refetchOnWindowFocus: false },
      mutations: { retry: false },
    },
  });
}
