import { lazy, Suspense, type ReactNode } from 'react';
import { Center, Loader } from '@mantine/core';
import { Navigate, Route, Routes } from 'react-router';
import { RequireAuth } from './auth/RequireAuth';
import { LoginPage } from './pages/LoginPage';

// Route-level code splitting: the login page (the first thing a visitor loads) ships in the
// initial bundle; the signed-in layout and every page are chunks of their own, loaded when their
// route is first visited (BENCHMARKS.md has the sizes).
const AppLayout = lazy(() => import('./layout/AppLayout').then((m) => ({ default: m.AppLayout })));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage').then((m) => ({ default: m.NotFoundPage })));
const SignupPage = lazy(() => import('./pages/SignupPage').then((m) => ({ default: m.SignupPage })));
const PaymentsPage = lazy(() => import('./payments/PaymentsPage').then((m) => ({ default: m.PaymentsPage })));
const AnalyticsPage = lazy(() => import('./analytics/AnalyticsPage').then((m) => ({ default: m.AnalyticsPage })));
const CustomersPage = lazy(() => import('./customers/CustomersPage').then((m) => ({ default: m.CustomersPage })));
const AttentionPage = lazy(() => import('./attention/AttentionPage').then((m) => ({ default: m.AttentionPage })));
const IntegrationsPage = lazy(() => import('./integrations/IntegrationsPage').then((m) => ({ default: m.IntegrationsPage })));
const WebhookDeliveriesPage = lazy(() =>
  import('./integrations/WebhookDeliveriesPage').then((m) => ({ default: m.WebhookDeliveriesPage })),
);

/** Page shows a lazily loaded page, with a spinner while its chunk arrives. */
function Page({ children }: { children: ReactNode }) {
  return (
    <Suspense
      fallback={
        <Center mih={200}>
          <Loader size="sm" aria-label="Loading" />
        </Center>
      }
    >
      {children}
    </Suspense>
  );
}

/** AppRoutes maps URLs to pages; everything but login and sign-up needs a session. */
export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        path="/signup"
        element={
          <Page>
            <SignupPage />
          </Page>
        }
      />
      <Route
        element={
          <RequireAuth>
            <Page>
              <AppLayout />
            </Page>
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/payments" replace />} />
        {/* One route for the list and the detail page over it, so the list stays mounted (filters, scroll). */}
        <Route
          path="/payments/:paymentId?"
          element={
            <Page>
              <PaymentsPage />
            </Page>
          }
        />
        <Route
          path="/analytics"
          element={
            <Page>
              <AnalyticsPage />
            </Page>
          }
        />
        <Route
          path="/customers"
          element={
            <Page>
              <CustomersPage />
            </Page>
          }
        />
        <Route
          path="/customers/:customerId/integrations"
          element={
            <Page>
              <IntegrationsPage />
            </Page>
          }
        />
        <Route
          path="/customers/:customerId/webhooks/:endpointId"
          element={
            <Page>
              <WebhookDeliveriesPage />
            </Page>
          }
        />
        <Route
          path="/attention"
          element={
            <Page>
              <AttentionPage />
            </Page>
          }
        />
        <Route
          path="*"
          element={
            <Page>
              <NotFoundPage />
            </Page>
          }
        />
      </Route>
    </Routes>
  );
}
