import { useState, type SyntheticEvent } from 'react';
import {
  ActionIcon,
  Anchor,
  Button,
  Card,
  Group,
  Modal,
  SimpleGrid,
  Skeleton,
  Stack,
  Text,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { useForm } from '@mantine/form';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconEdit, IconPlugConnected, IconPlus, IconTrash, IconUserPlus } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { setConsistencyToken, useConsistencyToken } from '../api/consistency';
import { ApiError } from '../api/problem';
import type { CustomerWithUsers, LinkedUser } from '../api/types';
import { useApi, useSession } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { canManageIntegrations } from '../integrations/access';
import { integrationsPath } from '../integrations/keys';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** CustomerForm creates or edits a customer's name and email. */
function CustomerForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial: { name: string; email: string };
  submitLabel: string;
  onSubmit: (v: { name: string; email: string }) => Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    mode: 'controlled',
    initialValues: initial,
    validate: {
      name: (v) => (v.trim() ? null : t('customers.errors.nameRequired')),
      email: (v) => (!v.trim() || EMAIL.test(v.trim()) ? null : t('customers.errors.emailInvalid')),
    },
  });
  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ name: v.name.trim(), email: v.email.trim() });
    } catch (err) {
      if (err instanceof ApiError) {
        const f = err.fieldErrors();
        if (f.name) form.setFieldError('name', f.name);
        if (f.email) form.setFieldError('email', f.email);
      }
      setError(err);
    } finally {
      setBusy(false);
    }
  });
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        {error !== null && <ProblemAlert error={error} />}
        <TextInput label={t('customers.name')} required data-autofocus maxLength={200} {...form.getInputProps('name')} />
        <TextInput label={t('customers.email')} type="email" {...form.getInputProps('email')} />
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={onCancel} disabled={busy}>
            {t('customers.cancel')}
          </Button>
          <Button type="submit" loading={busy}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** AddUserForm links a registered user to a customer by email. */
function AddUserForm({ customer, onDone }: { customer: CustomerWithUsers; onDone: (token: string | null) => void }) {
  const { t } = useTranslation();
  const api = useApi();
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: SyntheticEvent) => {
    e.preventDefault();
    const v = email.trim();
    if (!EMAIL.test(v)) {
      setError(t('customers.errors.emailInvalid'));
      return;
    }
    setBusy(true);
    setError(null);
    setProblem(null);
    try {
      const res = await api.linkUserByEmail(customer.id, v);
      setEmail('');
      notifications.show({ color: 'green', message: t('customers.userAdded', { email: v, customer: customer.name }) });
      onDone(res.consistencyToken);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setError(t('customers.errors.userNotFound'));
      else setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate aria-label={`${t('customers.addUser')}: ${customer.name}`}>
      <Stack gap={6}>
        {problem !== null && <ProblemAlert error={problem} />}
        <Group gap="xs" align="flex-start" wrap="nowrap">
          <TextInput
            label={t('customers.addUserEmail')}
            type="email"
            size="sm"
            style={{ flex: 1 }}
            value={email}
            onChange={(e) => {
              setEmail(e.currentTarget.value);
              setError(null);
            }}
            error={error}
          />
          <Button type="submit" size="sm" mt={24} loading={busy} leftSection={<IconUserPlus size={16} aria-hidden />}>
            {t('customers.addUserSubmit')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** CustomersPage lists the caller's customers; creates, renames, and shares them. */
export function CustomersPage() {
  const { t } = useTranslation();
  const api = useApi();
  const { user } = useSession();
  const consistencyToken = useConsistencyToken();
  const [createOpen, createModal] = useDisclosure(false);
  const [editing, setEditing] = useState<CustomerWithUsers | null>(null);
  const [removing, setRemoving] = useState<{ customer: CustomerWithUsers; user: LinkedUser } | null>(null);
  const [removeError, setRemoveError] = useState<unknown>(null);
  const [removeBusy, setRemoveBusy] = useState(false);

  const customers = useQuery({
    queryKey: ['customers', consistencyToken],
    queryFn: ({ signal }) => api.listCustomers(consistencyToken, signal),
    // Keep the cards on screen while the list is read again after a write.
    placeholderData: keepPreviousData,
  });

  const wrote = (token: string | null) => {
    // A new token changes the query key, so the list is read again including this write.
    setConsistencyToken(token);
    if (!token) void customers.refetch();
  };

  const confirmRemove = async () => {
    if (!removing) return;
    setRemoveBusy(true);
    setRemoveError(null);
    try {
      const res = await api.unlinkUser(removing.customer.id, removing.user.id);
      notifications.show({ color: 'green', message: t('customers.userRemoved') });
      setRemoving(null);
      wrote(res.consistencyToken);
    } catch (err) {
      setRemoveError(err instanceof ApiError && err.status === 409 ? new ApiError(409, { ...err.problem, detail: t('customers.errors.lastLink') }) : err);
    } finally {
      setRemoveBusy(false);
    }
  };

  const list = customers.data ?? [];

  return (
    <Stack gap="md">
      <Group justify="space-between" gap="xs">
        <Stack gap={2}>
          <Title order={1} size="h2">
            {t('customers.title')}
          </Title>
          <Text c="dimmed" size="sm">
            {t('customers.subtitle')}
          </Text>
        </Stack>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={createModal.open}>
          {t('customers.new')}
        </Button>
      </Group>

      {customers.error ? (
        <ProblemAlert error={customers.error} title={t('customers.loadError')} />
      ) : customers.isPending ? (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} height={180} radius="md" />
          ))}
        </SimpleGrid>
      ) : list.length === 0 ? (
        <Card withBorder p="xl" ta="center">
          <Text>{t('customers.empty')}</Text>
        </Card>
      ) : (
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          {list.map((c) => (
            <Card key={c.id} withBorder radius="md" p="md" component="section" aria-label={c.name} data-testid="customer-card">
              <Group justify="space-between" align="flex-start" wrap="nowrap">
                <Stack gap={0} style={{ minWidth: 0 }}>
                  <Title order={2} size="h4" style={{ wordBreak: 'break-word' }}>
                    {c.name}
                  </Title>
                  {c.email && (
                    <Text size="sm" c="dimmed" truncate>
                      {c.email}
                    </Text>
                  )}
                </Stack>
                <Tooltip label={t('customers.rename')}>
                  <ActionIcon variant="subtle" onClick={() => setEditing(c)} aria-label={`${t('customers.rename')}: ${c.name}`}>
                    <IconEdit size={18} aria-hidden />
                  </ActionIcon>
                </Tooltip>
              </Group>
              <Group gap="md" mt={4} wrap="wrap">
                <Anchor component={Link} to={`/payments?customer_id=${encodeURIComponent(c.id)}`} size="sm">
                  {t('customers.viewPayments')}
                </Anchor>
                {canManageIntegrations(c, user.id) && (
                  <Anchor component={Link} to={integrationsPath(c.id)} size="sm" aria-label={t('integrations.linkLabel', { customer: c.name })}>
                    <Group gap={4} component="span" wrap="nowrap">
                      <IconPlugConnected size={14} aria-hidden />
                      {t('integrations.link')}
                    </Group>
                  </Anchor>
                )}
              </Group>
              <Text size="sm" fw={600} mt="md" mb={4}>
                {t('customers.users')}
              </Text>
              <Stack gap={4} component="ul" p={0} m={0} style={{ listStyle: 'none' }}>
                {c.users.map((u) => (
                  <Group key={u.id} component="li" justify="space-between" wrap="nowrap" gap="xs">
                    <Stack gap={0} style={{ minWidth: 0 }}>
                      <Text size="sm" truncate>
                        {u.name}
                        {u.id === user.id ? ` (${t('customers.you')})` : ''}
                      </Text>
                      <Text size="xs" c="dimmed" truncate>
                        {u.email}
                      </Text>
                    </Stack>
                    <ActionIcon
                      variant="subtle"
                      color="red"
                      onClick={() => {
                        setRemoveError(null);
                        setRemoving({ customer: c, user: u });
                      }}
                      aria-label={t('customers.removeUser', { name: u.name, customer: c.name })}
                      disabled={c.users.length <= 1}
                    >
                      <IconTrash size={16} aria-hidden />
                    </ActionIcon>
                  </Group>
                ))}
              </Stack>
              <Stack mt="md">
                <AddUserForm customer={c} onDone={wrote} />
              </Stack>
            </Card>
          ))}
        </SimpleGrid>
      )}

      <Modal opened={createOpen} onClose={createModal.close} title={t('customers.new')}>
        {createOpen && (
          <CustomerForm
            initial={{ name: '', email: '' }}
            submitLabel={t('customers.create')}
            onCancel={createModal.close}
            onSubmit={async (v) => {
              const res = await api.createCustomer(v.email ? { name: v.name, email: v.email } : { name: v.name });
              notifications.show({ color: 'green', message: t('customers.created', { name: res.value.name }) });
              createModal.close();
              wrote(res.consistencyToken);
            }}
          />
        )}
      </Modal>

      <Modal opened={editing !== null} onClose={() => setEditing(null)} title={t('customers.renameTitle')}>
        {editing && (
          <CustomerForm
            initial={{ name: editing.name, email: editing.email ?? '' }}
            submitLabel={t('customers.save')}
            onCancel={() => setEditing(null)}
            onSubmit={async (v) => {
              const res = await api.updateCustomer(editing.id, { name: v.name, email: v.email || null });
              notifications.show({ color: 'green', message: t('customers.saved') });
              setEditing(null);
              wrote(res.consistencyToken);
            }}
          />
        )}
      </Modal>

      <Modal opened={removing !== null} onClose={() => setRemoving(null)} title={t('customers.removeConfirmTitle')}>
        {removing && (
          <Stack>
            {removeError !== null && <ProblemAlert error={removeError} />}
            <Text>
              {removing.user.id === user.id
                ? t('customers.removeSelfConfirm', { customer: removing.customer.name })
                : t('customers.removeConfirm', { name: removing.user.name, customer: removing.customer.name })}
            </Text>
            <Group justify="flex-end" gap="xs">
              <Button variant="default" onClick={() => setRemoving(null)} disabled={removeBusy}>
                {t('customers.cancel')}
              </Button>
              <Button color="red" onClick={() => void confirmRemove()} loading={removeBusy}>
                {t('customers.remove')}
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}
