import { useEffect, useRef, useState } from 'react';
import { Button, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconArrowBackUp, IconBan, IconRefresh } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { useApi } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { availableActions, useCanAct, type Actionable, type PaymentAction } from './lifecycle';
import { RefundForm } from './RefundForm';

/** PaymentActionsProps configures PaymentActions. */
export interface PaymentActionsProps {
  payment: Actionable & { currency: string };
  /** onDone is called after a successful action with the write's consistency token. */
  onDone: (consistencyToken: string | null) => void;
}

type Panel = 'cancel' | 'refund' | null;

/**
 * PaymentActions offers what the payment allows and the user may do (lifecycle.ts): retry a dead
 * letter, refund a succeeded payment, cancel a pending one after a confirmation. The confirmation
 * and the refund form open in place, so they work inside the drawer on a phone too; focus moves
 * into them and back to the button that opened them.
 */
export function PaymentActions({ payment, onDone }: PaymentActionsProps) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const api = useApi();
  const canAct = useCanAct();
  const actions = availableActions(payment, canAct);
  const [panel, setPanel] = useState<Panel>(null);
  const [busy, setBusy] = useState<PaymentAction | null>(null);
  const [error, setError] = useState<unknown>(null);
  const buttons = useRef<Partial<Record<PaymentAction, HTMLButtonElement | null>>>({});
  const confirmRef = useRef<HTMLDivElement>(null);
  const returnTo = useRef<PaymentAction | null>(null);

  useEffect(() => {
    if (panel === 'cancel') confirmRef.current?.focus();
    if (panel === null && returnTo.current) {
      buttons.current[returnTo.current]?.focus();
      returnTo.current = null;
    }
  }, [panel]);

  // The payment moved on (a refresh after the action, or the processor): an open panel no longer applies.
  if (panel && !actions.includes(panel)) {
    setPanel(null);
  }

  if (actions.length === 0) return null;

  const closePanel = (back: PaymentAction) => {
    returnTo.current = back;
    setError(null);
    setPanel(null);
  };

  const run = async (action: 'cancel' | 'retry') => {
    setBusy(action);
    setError(null);
    try {
      const res = action === 'cancel' ? await api.cancelPayment(payment.id) : await api.retryPayment(payment.id);
      notifications.show({ color: 'green', message: t(action === 'cancel' ? 'actions.canceled' : 'actions.retried') });
      setPanel(null);
      onDone(res.consistencyToken);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Stack gap="xs" component="section" aria-labelledby="payment-actions-title">
      <Title order={3} size="h5" id="payment-actions-title">
        {t('actions.title')}
      </Title>
      {error !== null && panel !== 'refund' && <ProblemAlert error={error} title={t('actions.failed')} />}
      {panel === null && (
        <Group gap="xs">
          {actions.includes('retry') && (
            <Button
              ref={(el) => {
                buttons.current.retry = el;
              }}
              leftSection={<IconRefresh size={16} aria-hidden />}
              loading={busy === 'retry'}
              onClick={() => void run('retry')}
            >
              {t('actions.retry')}
            </Button>
          )}
          {actions.includes('refund') && (
            <Button
              ref={(el) => {
                buttons.current.refund = el;
              }}
              variant="light"
              color="violet"
              leftSection={<IconArrowBackUp size={16} aria-hidden />}
              onClick={() => {
                setError(null);
                setPanel('refund');
              }}
            >
              {t('actions.refund')}
            </Button>
          )}
          {actions.includes('cancel') && (
            <Button
              ref={(el) => {
                buttons.current.cancel = el;
              }}
              variant="light"
              color="red"
              leftSection={<IconBan size={16} aria-hidden />}
              onClick={() => {
                setError(null);
                setPanel('cancel');
              }}
            >
              {t('actions.cancel')}
            </Button>
          )}
        </Group>
      )}
      {panel === 'cancel' && (
        <Paper
          withBorder
          p="sm"
          radius="md"
          ref={confirmRef}
          tabIndex={-1}
          role="group"
          aria-labelledby="cancel-confirm-title"
          aria-describedby="cancel-confirm-text"
        >
          <Stack gap="xs">
            <Title order={4} size="h6" id="cancel-confirm-title">
              {t('actions.cancelTitle')}
            </Title>
            <Text size="sm" id="cancel-confirm-text">
              {t('actions.cancelText')} ({formatMoney(payment.amount, payment.currency, locale)})
            </Text>
            <Group justify="flex-end" gap="xs">
              <Button variant="default" onClick={() => closePanel('cancel')} disabled={busy === 'cancel'}>
                {t('actions.cancelKeep')}
              </Button>
              <Button color="red" loading={busy === 'cancel'} onClick={() => void run('cancel')}>
                {t('actions.cancelConfirm')}
              </Button>
            </Group>
          </Stack>
        </Paper>
      )}
      {panel === 'refund' && (
        <Paper withBorder p="sm" radius="md">
          <RefundForm
            payment={payment}
            onBack={() => closePanel('refund')}
            onRefunded={(refund, token) => {
              notifications.show({
                color: 'green',
                message: t('actions.refunded', { amount: formatMoney(refund.amount, payment.currency, locale) }),
              });
              setPanel(null);
              onDone(token);
            }}
          />
        </Paper>
      )}
    </Stack>
  );
}
