import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../api/types';
import { ApiError } from '../api/problem';
import { renderUi } from '../test/render';
import { PaymentTimeline } from './PaymentTimeline';

let nextId = 1;
function ev(type: PaymentEvent['type'], at: string, data: PaymentEvent['data'] = {}): PaymentEvent {
  return { id: nextId++, payment_id: 'p1', type, data, created_at: `2026-11-25T10:00:${at}Z` };
}

describe('PaymentTimeline', () => {
  it('lists events oldest first with their attempt, reason, message, reference and amount', () => {
    const events = [
      // Out of order on purpose: the timeline sorts by time.
      ev('payment.succeeded', '09', { attempt: 2, provider_reference: 'sim_ref_42' }),
      ev('payment.created', '01'),
      ev('payment.attempt_failed', '03', { attempt: 1, code: 'provider_unavailable', message: 'HTTP 503 from provider' }),
      ev('payment.processing', '02', { attempt: 1 }),
      ev('refund.created', '20', { refund_id: 'r1', amount: 2550 }),
    ];
    renderUi(<PaymentTimeline events={events} currency="DKK" />);
    const list = screen.getByRole('list', { name: 'Timeline' });
    const items = within(list).getAllByRole('listitem');
    expect(items.map((i) => i.getAttribute('data-event-type'))).toEqual([
      'payment.created',
      'payment.processing',
      'payment.attempt_failed',
      'payment.succeeded',
      'refund.created',
    ]);
    expect(items[0]).toHaveTextContent('Created');
    expect(items[1]).toHaveTextContent('Sent to the provider');
    expect(items[1]).toHaveTextContent('Attempt 1');
    expect(items[2]).toHaveTextContent('Attempt failed');
    expect(items[2]).toHaveTextContent('provider_unavailable');
    expect(items[2]).toHaveTextContent('HTTP 503 from provider');
    expect(items[3]).toHaveTextContent('Succeeded');
    expect(items[3]).toHaveTextContent('Provider reference sim_ref_42');
    expect(items[4]).toHaveTextContent('Refund requested');
    expect(items[4]).toHaveTextContent(/DKK\s?25\.50/);
    expect(within(items[0]!).getByText(/2026/).closest('time')).toHaveAttribute('dateTime', '2026-11-25T10:00:01Z');
  });

  it('names known failure codes', () => {
    renderUi(<PaymentTimeline events={[ev('payment.failed', '05', { code: 'insufficient_funds', message: 'declined' })]} currency="EUR" />);
    const item = screen.getByTestId('timeline-event');
    expect(item).toHaveTextContent('Failed');
    expect(item).toHaveTextContent('Insufficient funds');
    expect(item).toHaveTextContent('declined');
  });

  it('shows an empty state, a loading state and a load error', () => {
    const { unmount } = renderUi(<PaymentTimeline events={[]} currency="EUR" />);
    expect(screen.getByText('No events yet.')).toBeInTheDocument();
    unmount();
    const loading = renderUi(<PaymentTimeline events={undefined} loading currency="EUR" />);
    expect(loading.container.querySelector('[aria-busy="true"]')).not.toBeNull();
    loading.unmount();
    renderUi(<PaymentTimeline events={undefined} currency="EUR" error={new ApiError(503, { title: 'Unavailable', detail: 'later' })} />);
    expect(screen.getByRole('alert')).toHaveTextContent('Could not load the timeline');
  });
});
