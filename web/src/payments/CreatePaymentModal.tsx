import { useRef, useState } from 'react';
import { Alert, Button, Collapse, Group, Modal, Select, SimpleGrid, Stack, Text, TextInput, Textarea, UnstyledButton } from '@mantine/core';
import { DateTimePicker } from '@mantine/dates';
import { useForm } from '@mantine/form';
import { useMediaQuery } from '@mantine/hooks';
import { IconAlertTriangle, IconChevronDown, IconChevronRight } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/problem';
import type { CreatedPayment, CustomerWithUsers, NewPayment } from '../api/types';
import { newUuid } from '../api/uuid';
import { useApi } from '../auth/context';
import { fieldErrors } from '../components/describeError';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { allCurrencies, currencyName, minorDigits, parseAmount } from '../money/money';
import { isUuid } from './filters';
import { dateWarning } from './dateWarning';
import { formatDateTime, localDateTimeToRfc3339 } from './format';

/** CreatePaymentModalProps configures CreatePaymentModal. */
export interface CreatePaymentModalProps {
  opened: boolean;
  onClose: () => void;
  customers: CustomerWithUsers[];
  defaultCustomerId?: string | null;
  onCreated: (payment: CreatedPayment, consistencyToken: string | null) => void;
}

interface Values {
  customer_id: string | null;
  amount: string;
  currency: string;
  third_party: string;
  description: string;
  date: string | null;
  payment_ref_id: string;
}

const LAST_CURRENCY = 'wildcat.lastCurrency';

function lastCurrency(): string {
  try {
    return localStorage.getItem(LAST_CURRENCY) ?? 'DKK';
  } catch {
    return 'DKK';
  }
}

/**
 * CreatePaymentModal creates one payment. Each distinct submission gets its own Idempotency-Key;
 * resubmitting the same body (a double click, a retry after a network error) reuses it, so the
 * payment is made at most once.
 */
export function CreatePaymentModal({ opened, onClose, customers, defaultCustomerId, onCreated }: CreatePaymentModalProps) {
  const { t } = useTranslation();
  const { locale, language } = useLocale();
  const api = useApi();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [advanced, setAdvanced] = useState(false);
  const inFlight = useRef(false);
  const isPhone = useMediaQuery('(max-width: 36em)');
  const attempt = useRef<{ body: string; key: string } | null>(null);

  // With the customer already chosen, typing starts at the amount.
  const [preselected] = useState(() => Boolean(defaultCustomerId ?? (customers.length === 1 ? customers[0]?.id : null)));
  const form = useForm<Values>({
    mode: 'controlled',
    initialValues: {
      customer_id: defaultCustomerId ?? (customers.length === 1 ? (customers[0]?.id ?? null) : null),
      amount: '',
      currency: lastCurrency(),
      third_party: '',
      description: '',
      date: null,
      payment_ref_id: '',
    },
    validate: {
      customer_id: (v) => (v ? null : t('createPayment.errors.customerRequired')),
      currency: (v) => (v ? null : t('createPayment.errors.currencyRequired')),
      amount: (v, values) => {
        const r = parseAmount(v, values.currency || 'EUR');
        if (r.ok) return null;
        if (r.error === 'precision') {
          const digits = minorDigits(values.currency);
          return digits === 0
            ? t('amount.precisionNone', { currency: values.currency })
            : t('amount.precision', { currency: values.currency, digits });
        }
        return t(`amount.${r.error}`);
      },
      third_party: (v) =>
        !v.trim() ? t('createPayment.errors.thirdPartyRequired') : v.trim().length > 64 ? t('createPayment.errors.thirdPartyLong') : null,
      description: (v) => (v.length > 500 ? t('createPayment.errors.descriptionLong') : null),
      payment_ref_id: (v) => (!v.trim() || isUuid(v.trim()) ? null : t('filters.errors.uuid')),
    },
  });

  const close = () => {
    if (busy) return;
    setError(null);
    onClose();
  };

  const handleSubmit = async (values: Values) => {
    if (inFlight.current) return; // a second click while the first is on its way
    const parsed = parseAmount(values.amount, values.currency);
    if (!parsed.ok || !values.customer_id) return;
    const body: NewPayment = {
      customer_id: values.customer_id,
      amount: parsed.minor,
      currency: values.currency,
      third_party: values.third_party.trim(),
    };
    if (values.description.trim()) body.description = values.description.trim();
    if (values.payment_ref_id.trim()) body.payment_ref_id = values.payment_ref_id.trim().toLowerCase();
    if (values.date) {
      const iso = localDateTimeToRfc3339(values.date);
      if (iso) body.date = iso;
    }
    const serialized = JSON.stringify(body);
    if (attempt.current?.body !== serialized) attempt.current = { body: serialized, key: newUuid() };
    const key = attempt.current.key;

    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      const res = await api.createPayment(body, key);
      attempt.current = null;
      try {
        localStorage.setItem(LAST_CURRENCY, values.currency);
      } catch {
        // ignore
      }
      form.reset();
      form.setFieldValue('customer_id', values.customer_id);
      form.setFieldValue('currency', values.currency);
      setAdvanced(false);
      onCreated(res.value, res.consistencyToken);
    } catch (err) {
      if (err instanceof ApiError) {
        const fields = fieldErrors(err, t);
        for (const k of Object.keys(values) as (keyof Values)[]) {
          if (fields[k]) form.setFieldError(k, fields[k]);
        }
        // The date and the reference live under "More options": show the field that was refused.
        if (fields.date || fields.payment_ref_id) setAdvanced(true);
        // A rejected body will never be accepted with this key; a new attempt gets a new one.
        if (err.status >= 400 && err.status < 500) attempt.current = null;
      }
      setError(err);
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const currencyOptions = allCurrencies().map((c) => ({ value: c, label: `${c} – ${currencyName(c, locale)}` }));
  const digits = minorDigits(form.values.currency || 'EUR');
  const warning = dateWarning(form.values.date);

  return (
    <Modal opened={opened} onClose={close} title={t('createPayment.title')} size="lg" fullScreen={isPhone} centered>
      {customers.length === 0 ? (
        <Text>{t('createPayment.noCustomers')}</Text>
      ) : (
        <form onSubmit={(e) => form.onSubmit((v) => void handleSubmit(v))(e)} noValidate aria-label={t('createPayment.title')}>
          <Stack>
            {error !== null && <ProblemAlert error={error} />}
            <Select
              label={t('createPayment.customer')}
              placeholder={t('createPayment.customerPlaceholder')}
              data={customers.map((c) => ({ value: c.id, label: c.name }))}
              searchable
              required
              data-autofocus={!preselected || undefined}
              nothingFoundMessage={t('filters.nothingFound')}
              {...form.getInputProps('customer_id')}
            />
            <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="sm">
              <TextInput
                label={t('createPayment.amount')}
                placeholder={t('createPayment.amountPlaceholder')}
                inputMode={digits === 0 ? 'numeric' : 'decimal'}
                autoComplete="off"
                required
                data-autofocus={preselected || undefined}
                {...form.getInputProps('amount')}
              />
              <Select
                label={t('createPayment.currency')}
                data={currencyOptions}
                searchable
                required
                allowDeselect={false}
                limit={60}
                nothingFoundMessage={t('filters.nothingFound')}
                {...form.getInputProps('currency')}
              />
            </SimpleGrid>
            <TextInput
              label={t('createPayment.thirdParty')}
              description={t('createPayment.thirdPartyHint')}
              maxLength={64}
              required
              {...form.getInputProps('third_party')}
            />
            <Textarea label={t('createPayment.description')} autosize minRows={2} maxLength={500} {...form.getInputProps('description')} />
            <UnstyledButton
              onClick={() => setAdvanced((a) => !a)}
              aria-expanded={advanced}
              aria-controls="create-payment-advanced"
              fz="sm"
              c="var(--mantine-primary-color-filled)"
            >
              <Group gap={4}>
                {advanced ? <IconChevronDown size={16} aria-hidden /> : <IconChevronRight size={16} aria-hidden />}
                {t('createPayment.advanced')}
              </Group>
            </UnstyledButton>
            <Collapse expanded={advanced} id="create-payment-advanced">
              <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="sm">
                <DateTimePicker
                  label={t('createPayment.date')}
                  description={t('createPayment.dateHint')}
                  valueFormat={language === 'da' ? 'DD.MM.YYYY HH:mm' : 'DD/MM/YYYY HH:mm'}
                  clearable
                  {...form.getInputProps('date')}
                />
                <TextInput
                  label={t('createPayment.reference')}
                  description={t('createPayment.referenceHint')}
                  autoComplete="off"
                  spellCheck={false}
                  {...form.getInputProps('payment_ref_id')}
                />
              </SimpleGrid>
            </Collapse>
            {/* Outside the collapse, so it stays in view when "More options" is closed again. */}
            <div role="status" aria-live="polite">
              {warning && (
                <Alert role="note" color="yellow" variant="light" icon={<IconAlertTriangle aria-hidden />} title={t('createPayment.dateWarningTitle')}>
                  {t(warning.kind === 'past' ? 'createPayment.datePast' : 'createPayment.dateFuture', {
                    date: formatDateTime(warning.iso, locale),
                  })}
                </Alert>
              )}
            </div>
            <Group justify="flex-end" gap="xs">
              <Button variant="default" onClick={close} disabled={busy}>
                {t('createPayment.cancel')}
              </Button>
              <Button type="submit" loading={busy}>
                {t('createPayment.submit')}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
