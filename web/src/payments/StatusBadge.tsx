import { Badge } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { PaymentStatus } from '../api/types';

const COLORS: Record<PaymentStatus, string> = { pending: 'yellow', succeeded: 'green', failed: 'red' };

/** StatusBadge shows a payment status in words with a coloured dot: never colour alone, and
 * the text keeps full contrast whatever the colour. */
export function StatusBadge({ status }: { status: PaymentStatus }) {
  const { t } = useTranslation();
  const known = status in COLORS;
  return (
    <Badge color={known ? COLORS[status] : 'gray'} variant="dot" radius="sm" tt="none" size="md">
      {known ? t(`payments.status.${status}`) : status}
    </Badge>
  );
}
