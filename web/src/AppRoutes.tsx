import { Navigate, Route, Routes } from 'react-router';
import { RequireAuth } from './auth/RequireAuth';
import { AppLayout } from './layout/AppLayout';
import { LoginPage } from './pages/LoginPage';
import { SignupPage } from './pages/SignupPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { PaymentsPage } from './payments/PaymentsPage';
import { CustomersPage } from './customers/CustomersPage';
import { AttentionPage } from './attention/AttentionPage';
import { IntegrationsPage } from './integrations/IntegrationsPage';
import { WebhookDeliveriesPage } from './integrations/WebhookDeliveriesPage';

/** AppRoutes maps URLs to pages; everything but login and sign-up needs a session. */
export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/payments" replace />} />
        {/* One route for the list and the detail page over it, so the list stays mounted (filters, scroll). */}
        <Route path="/payments/:paymentId?" element={<PaymentsPage />} />
        <Route path="/customers" element={<CustomersPage />} />
        <Route path="/customers/:customerId/integrations" element={<IntegrationsPage />} />
        <Route path="/customers/:customerId/webhooks/:endpointId" element={<WebhookDeliveriesPage />} />
        <Route path="/attention" element={<AttentionPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
