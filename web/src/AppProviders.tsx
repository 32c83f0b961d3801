import { useMemo, useState, type ReactNode } from 'react';
import { Drawer, MantineProvider, mergeThemeOverrides, Modal } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { DatesProvider } from '@mantine/dates';
import { Notifications } from '@mantine/notifications';
import { QueryClientProvider } from '@tanstack/react-query';
import { newQueryClient } from './queryClient';
import { AuthProvider } from './auth/AuthProvider';
import { useLocale } from './i18n';
import { cssVariablesResolver, theme } from './theme';

/** AppProviders wires theme, dates locale, notifications, the query cache and auth. */
export function AppProviders({ children, fetchImpl }: { children: ReactNode; fetchImpl?: typeof fetch }) {
  const [client] = useState(newQueryClient);
  const { dayjsLocale } = useLocale();
  const { t } = useTranslation();
  // Every dialog's close button gets a name in the current language.
  const localizedTheme = useMemo(() => {
    const closeButtonProps = { 'aria-label': t('app.close') };
    return mergeThemeOverrides(theme, {
      components: {
        Modal: Modal.extend({ defaultProps: { closeButtonProps } }),
        Drawer: Drawer.extend({ defaultProps: { closeButtonProps } }),
      },
    });
  }, [t]);
  return (
    <MantineProvider theme={localizedTheme} defaultColorScheme="light" cssVariablesResolver={cssVariablesResolver}>
      <DatesProvider settings={{ locale: dayjsLocale, firstDayOfWeek: 1 }}>
        {/* Bottom right: a toast never covers the header's language selector or account menu. (A
            top-right container moved below the header with a `top` style caught the page's clicks.) */}
        <Notifications position="bottom-right" />
        <QueryClientProvider client={client}>
          <AuthProvider {...(fetchImpl ? { fetchImpl } : {})}>{children}</AuthProvider>
        </QueryClientProvider>
      </DatesProvider>
    </MantineProvider>
  );
}
