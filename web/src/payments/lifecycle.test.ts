import { describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../api/types';
import {
  availableActions,
  hasPendingRefund,
  refundsOf,
  isMoving,
  refundableMinor,
  refundState,
  type Actionable,
  type CanAct,
} from './lifecycle';

function p(over: Partial<Actionable>): Actionable {
  return { id: 'p1', customer_id: 'c1', amount: 10_000, status: 'succeeded', failure_code: null, amount_refunded: 0, ...over };
}

describe('availableActions', () => {
  it.each([
    ['pending', p({ status: 'pending' }), ['cancel']],
    ['processing', p({ status: 'processing' }), []],
    ['succeeded', p({ status: 'succeeded' }), ['refund']],
    ['succeeded partly refunded', p({ amount_refunded: 2_500 }), ['refund']],
    ['succeeded fully refunded', p({ amount_refunded: 10_000 }), []],
    ['declined', p({ status: 'failed', failure_code: 'insufficient_funds' }), []],
    ['failed without a code', p({ status: 'failed' }), []],
    ['dead letter', p({ status: 'failed', failure_code: 'retries_exhausted' }), ['retry']],
    ['canceled', p({ status: 'canceled' }), []],
  ] as const)('%s allows %j', (_, payment, want) => {
    expect(availableActions(payment)).toEqual(want);
  });

  it('asks CanAct about each action the payment allows', () => {
    const asked: string[] = [];
    const noRefunds: CanAct = (action, payment) => {
      asked.push(`${action}:${payment.id}`);
      return action !== 'refund';
    };
    expect(availableActions(p({}), noRefunds)).toEqual([]);
    expect(availableActions(p({ status: 'pending' }), noRefunds)).toEqual(['cancel']);
    expect(asked).toEqual(['refund:p1', 'cancel:p1']);
  });
});

describe('refunds', () => {
  it('remaining amount and state', () => {
    expect(refundableMinor(p({}))).toBe(10_000);
    expect(refundableMinor(p({ amount_refunded: 2_500 }))).toBe(7_500);
    expect(refundableMinor(p({ amount_refunded: 10_000 }))).toBe(0);
    expect(refundState(p({}))).toBe('none');
    expect(refundState(p({ amount_refunded: 1 }))).toBe('partial');
    expect(refundState(p({ amount_refunded: 10_000 }))).toBe('full');
  });

  const ev = (type: PaymentEvent['type'], refund_id?: string): PaymentEvent => ({
    id: 1,
    payment_id: 'p1',
    type,
    data: refund_id ? { refund_id } : {},
    created_at: '2026-11-25T10:00:00Z',
  });

  it('hasPendingRefund is true from refund.created until that refund succeeds or fails', () => {
    expect(hasPendingRefund([ev('payment.created'), ev('payment.succeeded')])).toBe(false);
    expect(hasPendingRefund([ev('payment.succeeded'), ev('refund.created', 'r1')])).toBe(true);
    expect(hasPendingRefund([ev('refund.created', 'r1'), ev('refund.succeeded', 'r1')])).toBe(false);
    expect(hasPendingRefund([ev('refund.created', 'r1'), ev('refund.created', 'r2'), ev('refund.failed', 'r1')])).toBe(true);
  });
});

describe('isMoving', () => {
  it.each([
    ['pending', true],
    ['processing', true],
    ['succeeded', false],
    ['failed', false],
    ['canceled', false],
  ] as const)('%s → %s', (status, want) => {
    expect(isMoving(status)).toBe(want);
  });
});

describe('refundsOf', () => {
  it('folds refund events into one row per refund with its latest state', () => {
    const ev = (id: number, type: PaymentEvent['type'], data: PaymentEvent['data']): PaymentEvent => ({
      id,
      payment_id: 'p',
      type,
      data,
      created_at: `2026-01-01T00:00:0${id}Z`,
    });
    const rows = refundsOf([
      ev(4, 'refund.succeeded', { refund_id: 'a' }),
      ev(1, 'payment.succeeded', {}),
      ev(2, 'refund.created', { refund_id: 'a', amount: 250 }),
      ev(3, 'refund.created', { refund_id: 'b', amount: 100 }),
      ev(5, 'refund.failed', { refund_id: 'b', code: 'x' }),
    ]);
    expect(rows).toEqual([
      { id: 'a', amount: 250, state: 'succeeded', at: '2026-01-01T00:00:02Z' },
      { id: 'b', amount: 100, state: 'failed', at: '2026-01-01T00:00:03Z' },
    ]);
  });
});
