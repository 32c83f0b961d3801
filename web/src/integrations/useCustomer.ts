import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useConsistencyToken } from '../api/consistency';
import type { CustomerWithUsers } from '../api/types';
import { useApi, useSession } from '../auth/context';
import { canManageIntegrations } from './access';

/** CustomerAccess is the customer a page is about, once known, and whether the user may manage it. */
export interface CustomerAccess {
  customer: CustomerWithUsers | null;
  /** allowed is false for a customer that is not shared with the user (or does not exist). */
  allowed: boolean;
  isPending: boolean;
  error: Error | null;
}

/** useCustomer finds a customer among the caller's customers (the query API's list, shared cache). */
export function useCustomer(customerId: string): CustomerAccess {
  const api = useApi();
  const { user } = useSession();
  const token = useConsistencyToken();
  const customers = useQuery({
    queryKey: ['customers', token],
    queryFn: ({ signal }) => api.listCustomers(token, signal),
    placeholderData: keepPreviousData,
  });
  const customer = customers.data?.find((c) => c.id === customerId) ?? null;
  return {
    customer,
    allowed: customer !== null && canManageIntegrations(customer, user.id),
    isPending: customers.isPending,
    error: customers.error,
  };
}
