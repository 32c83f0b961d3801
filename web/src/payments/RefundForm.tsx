import { useEffect, useRef, useState, type SyntheticEvent } from 'react';
import { Button, Group, Stack, TextInput, Textarea, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/problem';
import type { NewRefund, Refund } from '../api/types';
import { newUuid } from '../api/uuid';
import { useApi } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatMajorInput, formatMoney, minorDigits } from '../money/money';
import { refundableMinor, type Actionable } from './lifecycle';
import { parseRefundAmount } from './refund';

/** RefundFormProps configures RefundForm. */
export interface RefundFormProps {
  payment: Actionable & { currency: string };
  onBack: () => void;
  onRefunded: (refund: Refund, consistencyToken: string | null) => void;
}

const REASON_MAX = 500;

/**
 * RefundForm asks for the amount (in major units of the payment's currency, the remaining amount
 * by default) and an optional reason, and creates the refund. Like a new payment, each distinct
 * submission gets its own Idempotency-Key and resubmitting the same one reuses it.
 */
export function RefundForm({ payment, onBack, onRefunded }: RefundFormProps) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const api = useApi();
  const remaining = refundableMinor(payment);
  const [amount, setAmount] = useState(() => formatMajorInput(remaining, payment.currency, locale));
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<{ amount?: string; reason?: string }>({});
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const attempt = useRef<{ body: string; key: string } | null>(null);
  const amountRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    amountRef.current?.focus();
    amountRef.current?.select();
  }, []);

  const parsed = parseRefundAmount(amount, payment.currency, remaining);
  const remainingText = formatMoney(remaining, payment.currency, locale);

  const amountError = (): string | undefined => {
    if (parsed.ok) return undefined;
    switch (parsed.error) {
      case 'exceeds_remaining':
        return t('actions.exceedsRemaining', { remaining: remainingText });
      case 'precision':
        return parsed.digits === 0
          ? t('amount.precisionNone', { currency: payment.currency })
          : t('amount.precision', { currency: payment.currency, digits: parsed.digits });
      default:
        return t(`amount.${parsed.error}`);
    }
  };

  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    if (busy) return;
    const err = amountError();
    setErrors({ amount: err });
    if (err || !parsed.ok) {
      amountRef.current?.focus();
      return;
    }
    const body: NewRefund = { amount: parsed.minor };
    if (reason.trim()) body.reason = reason.trim();
    const serialized = JSON.stringify(body);
    if (attempt.current?.body !== serialized) attempt.current = { body: serialized, key: newUuid() };
    setBusy(true);
    setProblem(null);
    try {
      const res = await api.refundPayment(payment.id, body, attempt.current.key);
      attempt.current = null;
      onRefunded(res.value, res.consistencyToken);
    } catch (caught) {
      if (caught instanceof ApiError) {
        const fields = caught.fieldErrors();
        setErrors({ amount: fields.amount, reason: fields.reason });
        // A rejected body will never be accepted with this key; a new attempt gets a new one.
        if (caught.status >= 400 && caught.status < 500) attempt.current = null;
      }
      setProblem(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-labelledby="refund-form-title">
      <Stack gap="sm">
        <Title order={3} size="h5" id="refund-form-title">
          {t('actions.refundTitle')}
        </Title>
        {problem !== null && <ProblemAlert error={problem} />}
        <TextInput
          ref={amountRef}
          label={t('actions.refundAmount')}
          description={t('actions.refundRemaining', { remaining: remainingText })}
          rightSection={payment.currency}
          rightSectionWidth={52}
          inputMode={minorDigits(payment.currency) === 0 ? 'numeric' : 'decimal'}
          autoComplete="off"
          required
          value={amount}
          onChange={(e) => {
            setAmount(e.currentTarget.value);
            setErrors((x) => ({ ...x, amount: undefined }));
          }}
          error={errors.amount}
        />
        <Textarea
          label={t('actions.refundReason')}
          autosize
          minRows={2}
          maxLength={REASON_MAX}
          value={reason}
          onChange={(e) => setReason(e.currentTarget.value)}
          error={errors.reason}
        />
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={onBack} disabled={busy}>
            {t('actions.refundBack')}
          </Button>
          <Button type="submit" loading={busy} color="violet">
            {parsed.ok ? t('actions.refundSubmit', { amount: formatMoney(parsed.minor, payment.currency, locale) }) : t('actions.refund')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
