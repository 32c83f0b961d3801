import { Badge, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { PaymentStatus } from '../api/types';
import { failureLabel, refundState } from './lifecycle';

// One colour per status, each with its own hue so the five never look alike; the word is always
// there too, so colour is never the only signal.
const COLORS: Record<PaymentStatus, string> = {
  pending: 'yellow',
  processing: 'blue',
  succeeded: 'green',
  failed: 'red',
  canceled: 'gray',
};

function isStatus(s: string): s is PaymentStatus {
  return s in COLORS;
}

/** StatusBadge shows a payment status in words with a coloured dot: never colour alone, and
 * the text keeps full contrast whatever the colour. */
export function StatusBadge({ status }: { status: PaymentStatus }) {
  const { t } = useTranslation();
  const known = isStatus(status);
  return (
    <Badge color={known ? COLORS[status] : 'dark'} variant="dot" radius="sm" tt="none" size="md" data-status={status}>
      {known ? t(`payments.status.${status}`) : status}
    </Badge>
  );
}

/** FailureReason is the small line under a failed payment's status: the reason in words, the
 * provider's message on hover (the drawer shows it in full). */
export function FailureReason({ code, message }: { code: string | null; message: string | null }) {
  const { t } = useTranslation();
  if (!code && !message) return null;
  return (
    <Text size="xs" c="var(--mantine-color-red-text)" title={message ?? undefined} data-testid="failure-reason" lh={1.3} mt={2}>
      {code ? failureLabel(code, t) : message}
    </Text>
  );
}

/** RefundHint says "Partially refunded" or "Refunded" under an amount; nothing when not refunded. */
export function RefundHint({ amount, refunded }: { amount: number; refunded: number }) {
  const { t } = useTranslation();
  const state = refundState({ amount, amount_refunded: refunded });
  if (state === 'none') return null;
  return (
    <Text size="xs" c="dimmed" data-testid="refund-hint" fw={400}>
      {t(`payments.refundState.${state}`)}
    </Text>
  );
}
