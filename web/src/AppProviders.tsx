import { useState, type ReactNode } from 'react';
import { MantineProvider } from '@mantine/core';
import { DatesProvider } from '@mantine/dates';
import { Notifications } from '@mantine/notifications';
import { QueryClientProvider } from '@tanstack/react-query';
import { newQueryClient } from './queryClient';
import { AuthProvider } from './auth/AuthProvider';
import { useLocale } from './i18n';
import { theme } from './theme';

/** AppProviders wires theme, dates locale, notifications, the query cache and auth. */
export function AppProviders({ children, fetchImpl }: { children: ReactNode; fetchImpl?: typeof fetch }) {
  const [client] = useState(newQueryClient);
  const { dayjsLocale } = useLocale();
  return (
    <MantineProvider theme={theme} defaultColorScheme="light">
      <DatesProvider settings={{ locale: dayjsLocale, firstDayOfWeek: 1 }}>
        <Notifications position="top-right" />
        <QueryClientProvider client={client}>
          <AuthProvider {...(fetchImpl ? { fetchImpl } : {})}>{children}</AuthProvider>
        </QueryClientProvider>
      </DatesProvider>
    </MantineProvider>
  );
}
