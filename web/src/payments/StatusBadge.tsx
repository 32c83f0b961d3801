import { Badge } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { PaymentStatus } from '../api/types';

const COLORS: Record<PaymentStatus, string> = { pending: 'yellow', succeeded: 'green', failed: 'red' };

/** StatusBadge shows a payment status in words and colour (never colour alone). */
export function StatusBadge({ status }: { status: PaymentStatus }) {
  const { t } = useTranslation();
  const known = status in COLORS;
  return (
    <Badge color={known ? COLORS[status] : 'gray'} variant="light" radius="sm">
      {known ? t(`payments.status.${status}`) : status}
    </Badge>
  );
}
