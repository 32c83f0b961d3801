import { useEffect, type ReactNode } from 'react';
import { MantineProvider } from '@mantine/core';
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router';
import { AppProviders } from '../AppProviders';
import { AppRoutes } from '../AppRoutes';
import type { Session } from '../auth/session';
import type { User } from '../api/types';
import { theme } from '../theme';

/** TEST_USER is the signed-in user of component tests. */
export const TEST_USER: User = {
  id: '00000000-0000-4000-8000-000000000001',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  created_at: '2026-01-01T00:00:00Z',
};

/** signIn stores a session as if the user had logged in earlier in this tab. */
export function signIn(expiresInMs = 15 * 60_000): Session {
  const s: Session = { token: 'test-token', expiresAt: Date.now() + expiresInMs, user: TEST_USER };
  sessionStorage.setItem('wildcat.session', JSON.stringify(s));
  return s;
}

const probe = { location: '' };
function LocationProbe() {
  const loc = useLocation();
  useEffect(() => {
    probe.location = loc.pathname + loc.search;
  });
  return null;
}

/** currentLocation returns the path and query the app last rendered. */
export function currentLocation(): string {
  return probe.location;
}

/** renderApp renders the whole app at a path with a fake fetch. */
export function renderApp(path: string, fetchImpl: typeof fetch) {
  return render(
    <AppProviders fetchImpl={fetchImpl}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="*" element={<LocationProbe />} />
        </Routes>
        <AppRoutes />
      </MemoryRouter>
    </AppProviders>,
  );
}

/** renderUi renders a component that needs only the theme and i18n (no API, no router). */
export function renderUi(ui: ReactNode) {
  return render(<MantineProvider theme={theme}>{ui}</MantineProvider>);
}
