import type { CustomerWithUsers } from '../api/types';

/**
 * canManageIntegrations says whether a user may see and change a customer's API keys and
 * webhooks. Until roles exist everyone linked to the customer may (the APIs answer 404 to anyone
 * else); roles plug in here.
 */
export function canManageIntegrations(customer: CustomerWithUsers, userId: string): boolean {
  return customer.users.some((u) => u.id === userId);
}
