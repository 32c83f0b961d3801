// What a payment's lifecycle (SPEC §9) means for the UI: which actions it allows, how refunded it
// is, whether it is still moving. Pure functions, so the rules are tested without rendering.
import { createContext, useContext } from 'react';
import type { TFunction } from 'i18next';
import type { CreatedPayment, PaymentEvent, PaymentStatus } from '../api/types';

/** Actionable is what the rules need of a payment; both APIs' payment shapes have it. */
export type Actionable = Pick<CreatedPayment, 'id' | 'customer_id' | 'amount' | 'status' | 'failure_code' | 'amount_refunded'>;

/** PaymentAction is something a person can do to a payment. */
export type PaymentAction = 'cancel' | 'refund' | 'retry';

/**
 * CanAct says whether the signed-in user may take an action on a payment of its customer. Today
 * every linked user may (SPEC §3 before roles); roles plug in here by providing another CanAct
 * through CanActContext, and every button that acts asks it.
 */
export type CanAct = (action: PaymentAction, payment: Actionable) => boolean;

/** anyLinkedUser is the CanAct of today: whoever sees a payment may act on it. */
export const anyLinkedUser: CanAct = () => true;

/** CanActContext provides the CanAct of the signed-in user; anyLinkedUser by default. */
export const CanActContext = createContext<CanAct>(anyLinkedUser);

/** useCanAct returns the CanAct of the signed-in user. */
export function useCanAct(): CanAct {
  return useContext(CanActContext);
}

/** RETRIES_EXHAUSTED is the failure code of a dead letter. */
export const RETRIES_EXHAUSTED = 'retries_exhausted';

/** isCancelable: only a payment not yet picked up by the processor can be canceled. */
export function isCancelable(p: Actionable): boolean {
  return p.status === 'pending';
}

/** refundableMinor is what remains to be refunded, in minor units. */
export function refundableMinor(p: Actionable): number {
  return Math.max(0, p.amount - p.amount_refunded);
}

/** isRefundable: a succeeded payment that is not fully refunded. */
export function isRefundable(p: Actionable): boolean {
  return p.status === 'succeeded' && refundableMinor(p) > 0;
}

/** isDeadLetter: failed after every retry; the only failed payments that can be retried. */
export function isDeadLetter(p: Actionable): boolean {
  return p.status === 'failed' && p.failure_code === RETRIES_EXHAUSTED;
}

/** availableActions lists the actions the payment allows and the user may take, in display order. */
export function availableActions(p: Actionable, canAct: CanAct = anyLinkedUser): PaymentAction[] {
  const out: PaymentAction[] = [];
  if (isRetryable(p) && canAct('retry', p)) out.push('retry');
  if (isRefundable(p) && canAct('refund', p)) out.push('refund');
  if (isCancelable(p) && canAct('cancel', p)) out.push('cancel');
  return out;
}

function isRetryable(p: Actionable): boolean {
  return isDeadLetter(p);
}

/** RefundState summarises how much of a payment went back. */
export type RefundState = 'none' | 'partial' | 'full';

/** refundState says whether nothing, part or all of the payment has been refunded. */
export function refundState(p: Pick<Actionable, 'amount' | 'amount_refunded'>): RefundState {
  if (p.amount_refunded <= 0) return 'none';
  return p.amount_refunded >= p.amount ? 'full' : 'partial';
}

/** isMoving: the processor has not decided yet, so the status will change by itself. */
export function isMoving(status: PaymentStatus): boolean {
  return status === 'pending' || status === 'processing';
}

/** hasPendingRefund: a refund was requested and has neither succeeded nor failed yet. */
export function hasPendingRefund(events: readonly PaymentEvent[]): boolean {
  const open = new Set<string>();
  let anonymous = 0;
  for (const e of events) {
    const id = e.data.refund_id;
    if (e.type === 'refund.created') {
      if (id) open.add(id);
      else anonymous++;
    } else if (e.type === 'refund.succeeded' || e.type === 'refund.failed') {
      if (id) open.delete(id);
      else anonymous = Math.max(0, anonymous - 1);
    }
  }
  return open.size > 0 || anonymous > 0;
}

/** FAILURE_CODES are the failure codes the UI has words for; others are shown as sent. */
export const FAILURE_CODES = ['insufficient_funds', 'do_not_honor', 'invalid_account', RETRIES_EXHAUSTED] as const;

type KnownFailureCode = (typeof FAILURE_CODES)[number];

function isKnownFailureCode(code: string): code is KnownFailureCode {
  return (FAILURE_CODES as readonly string[]).includes(code);
}

/** failureLabel names a failure code in the UI language; unknown codes are shown as they are. */
export function failureLabel(code: string, t: TFunction): string {
  return isKnownFailureCode(code) ? t(`failure.codes.${code}`) : code;
}

/** RefundRow is one refund of a payment as its events tell it. */
export interface RefundRow {
  id: string;
  amount: number;
  state: 'pending' | 'succeeded' | 'failed';
  at: string;
}

/** refundsOf folds a payment's refund events into one row per refund, oldest first. */
export function refundsOf(events: PaymentEvent[]): RefundRow[] {
  const byId = new Map<string, RefundRow>();
  for (const e of [...events].sort((a, b) => a.id - b.id)) {
    const id = e.data.refund_id;
    if (!id || !e.type.startsWith('refund.')) continue;
    const cur = byId.get(id) ?? { id, amount: e.data.amount ?? 0, state: 'pending' as const, at: e.created_at };
    if (e.data.amount !== undefined && cur.amount === 0) cur.amount = e.data.amount;
    if (e.type === 'refund.succeeded') cur.state = 'succeeded';
    if (e.type === 'refund.failed') cur.state = 'failed';
    byId.set(id, cur);
  }
  return [...byId.values()];
}
