import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Payment } from '../api/types';
import { renderUi, TEST_USER } from '../test/render';
import { ExecutedBy } from './ExecutedBy';

function payment(over: Partial<Payment> = {}): Payment {
  return {
    id: 'aaaaaaaa-0000-4000-8000-000000000001',
    payment_ref_id: 'bbbbbbbb-0000-4000-8000-000000000001',
    customer_id: '11111111-1111-4111-8111-111111111111',
    customer_name: 'Nordic Coffee',
    user_id: TEST_USER.id,
    executed_by: { type: 'user', id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email },
    user_name: TEST_USER.name,
    user_email: TEST_USER.email,
    amount: 100,
    currency: 'DKK',
    third_party: 'Roastery',
    description: '',
    status: 'pending',
    failure_code: null,
    failure_message: null,
    attempts: 0,
    processed_at: null,
    amount_refunded: 0,
    date: '2026-11-25T10:00:00Z',
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:00:00Z',
    ...over,
  };
}

const BY_KEY = payment({ executed_by: { type: 'api_key', id: 'a0000000-0000-4000-8000-000000000001', name: 'Webshop' } });

describe('ExecutedBy', () => {
  it('names an API key after a key icon', () => {
    renderUi(<ExecutedBy payment={BY_KEY} />);
    const el = screen.getByTestId('executed-by');
    expect(el).toHaveTextContent('API key: Webshop');
    expect(el).toHaveAttribute('data-executor', 'api_key');
    expect(el.querySelector('svg.tabler-icon-key')).not.toBeNull();
    // The creator of the key is not who executed it.
    expect(el).not.toHaveTextContent(TEST_USER.name);
  });

  it('shows a user by name with the email below, or in brackets inline', () => {
    const p = payment({ executed_by: { type: 'user', id: 'u2', name: 'Bob Builder', email: 'bob@example.com' } });
    const { unmount } = renderUi(<ExecutedBy payment={p} />);
    expect(screen.getByText('Bob Builder')).toBeInTheDocument();
    expect(screen.getByText('bob@example.com')).toBeInTheDocument();
    unmount();
    renderUi(<ExecutedBy payment={p} inline />);
    expect(screen.getByTestId('executed-by')).toHaveTextContent(/^Bob Builder \(bob@example\.com\)$/);
  });
});
