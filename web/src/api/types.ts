// Wire types of the command and query APIs (SPEC §4-§5). Amounts are integer minor units.

/** PaymentStatus is the lifecycle state of a payment. */
export type PaymentStatus = 'pending' | 'succeeded' | 'failed';

/** PAYMENT_STATUSES lists every status, in display order. */
export const PAYMENT_STATUSES: readonly PaymentStatus[] = ['pending', 'succeeded', 'failed'];

/** User is the signed-in person (GET /v1/me). */
export interface User {
  id: string;
  email: string;
  name: string;
  created_at: string;
}

/** TokenResponse is returned by POST /v1/auth/token. */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
}

/** Customer is a customer as written by the command API. */
export interface Customer {
  id: string;
  name: string;
  email?: string | null;
  created_at: string;
  updated_at: string;
}

/** LinkedUser is a user linked to a customer, as listed by the query API. */
export interface LinkedUser {
  id: string;
  name: string;
  email: string;
}

/** CustomerWithUsers is one item of GET /v1/customers on the query API. */
export interface CustomerWithUsers {
  id: string;
  name: string;
  email?: string | null;
  users: LinkedUser[];
}

/** Payment is a payment document; the query API adds the denormalized names. */
export interface Payment {
  id: string;
  payment_ref_id: string;
  customer_id: string;
  user_id: string;
  amount: number;
  currency: string;
  third_party: string;
  description?: string | null;
  status: PaymentStatus;
  date: string;
  created_at: string;
  updated_at: string;
  customer_name?: string;
  user_name?: string;
  user_email?: string;
}

/** PaymentPage is one page of GET /v1/payments. */
export interface PaymentPage {
  data: Payment[];
  next_cursor: string | null;
  has_more: boolean;
  /** total counts every match: exactly when total_relation is "eq", as a lower bound when it is "gte". */
  total: number;
  /** total_relation says whether total is exact ("eq") or a lower bound ("gte", more match than the API counts). */
  total_relation: 'eq' | 'gte';
}

/** HistogramBucket is one day of the summary histogram. */
export interface HistogramBucket {
  date: string;
  count: number;
  sum_by_currency: Record<string, number>;
}

/** PaymentSummary is returned by GET /v1/payments/summary. */
export interface PaymentSummary {
  count: number;
  sum_by_currency: Record<string, number>;
  count_by_status: Partial<Record<PaymentStatus, number>> & Record<string, number>;
  histogram: HistogramBucket[];
}

/** NewPayment is the body of POST /v1/payments. */
export interface NewPayment {
  customer_id: string;
  amount: number;
  currency: string;
  third_party: string;
  description?: string;
  payment_ref_id?: string;
  date?: string;
}

/** Written wraps the result of a write with its consistency token for read-your-writes. */
export interface Written<T> {
  value: T;
  consistencyToken: string | null;
}
