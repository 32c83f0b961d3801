import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { PAYMENT_STATUSES } from '../api/types';
import { renderUi } from '../test/render';
import { FailureReason, RefundHint, StatusBadge } from './StatusBadge';

afterEach(async () => {
  await i18n.changeLanguage('en');
});

describe('StatusBadge', () => {
  it('names every status in words, each in its own colour', () => {
    renderUi(
      <>
        {PAYMENT_STATUSES.map((s) => (
          <StatusBadge key={s} status={s} />
        ))}
      </>,
    );
    const words = ['Pending', 'Processing', 'Succeeded', 'Failed', 'Canceled'];
    const badges = words.map((w) => screen.getByText(w).closest('[data-status]'));
    expect(badges.map((b) => b?.getAttribute('data-status'))).toEqual(['pending', 'processing', 'succeeded', 'failed', 'canceled']);
    // Mantine puts the colour in a CSS variable on the badge; five statuses, five colours.
    const colours = badges.map((b) => (b as HTMLElement).style.getPropertyValue('--badge-dot-color'));
    expect(colours.every(Boolean)).toBe(true);
    expect(new Set(colours).size).toBe(5);
  });

  it('speaks Danish', async () => {
    await i18n.changeLanguage('da');
    renderUi(<StatusBadge status="canceled" />);
    expect(screen.getByText('Annulleret')).toBeInTheDocument();
  });
});

describe('FailureReason', () => {
  it('names known codes and keeps the provider message as a hint', () => {
    renderUi(<FailureReason code="insufficient_funds" message="card has 12.00 left" />);
    const line = screen.getByTestId('failure-reason');
    expect(line).toHaveTextContent('Insufficient funds');
    expect(line).toHaveAttribute('title', 'card has 12.00 left');
  });
  it('shows unknown codes as sent', () => {
    renderUi(<FailureReason code="stolen_card" message={null} />);
    expect(screen.getByTestId('failure-reason')).toHaveTextContent('stolen_card');
  });
  it('shows nothing without a code or a message', () => {
    renderUi(<FailureReason code={null} message={null} />);
    expect(screen.queryByTestId('failure-reason')).not.toBeInTheDocument();
  });
});

describe('RefundHint', () => {
  it.each([
    [0, null],
    [2_500, 'Partially refunded'],
    [10_000, 'Refunded'],
  ] as const)('refunded %i of 10000: %s', (refunded, want) => {
    renderUi(<RefundHint amount={10_000} refunded={refunded} />);
    if (want === null) expect(screen.queryByTestId('refund-hint')).not.toBeInTheDocument();
    else expect(screen.getByTestId('refund-hint')).toHaveTextContent(new RegExp(`^${want}$`));
  });
});
