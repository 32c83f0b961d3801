import { useState } from 'react';
import { Badge, Button, Checkbox, Group, Modal, Paper, Skeleton, Stack, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { IconKey, IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/problem';
import { API_KEY_SCOPES, type ApiKey, type ApiKeyScope, type NewApiKey } from '../api/types';
import { useApi } from '../auth/context';
import { fieldErrors } from '../components/describeError';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatDateTime } from '../payments/format';
import { apiKeysKey } from './keys';
import { SecretModal } from './SecretModal';


// i18next reads ':' as its namespace separator, so scopes are not used as message keys.
const SCOPE_TEXT = {
  'payments:read': 'integrations.keys.scope.read',
  'payments:write': 'integrations.keys.scope.write',
} as const satisfies Record<ApiKeyScope, string>;

/**
 * ApiKeysSection lists a customer's API keys (revoked ones too), creates one — showing its secret
 * once — and revokes one after a confirmation.
 */
export function ApiKeysSection({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const [createOpen, setCreateOpen] = useState(false);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const keys = useQuery({
    queryKey: apiKeysKey(customerId),
    queryFn: ({ signal }) => api.listApiKeys(customerId, signal),
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: apiKeysKey(customerId) });
  const list = keys.data ?? [];

  return (
    <Stack gap="sm" component="section" aria-labelledby="api-keys-title">
      <Group justify="space-between" gap="xs" align="flex-end">
        <Stack gap={2} style={{ flex: '1 1 260px' }}>
          <Title order={2} size="h3" id="api-keys-title">
            {t('integrations.keys.title')}
          </Title>
          <Text size="sm" c="dimmed">
            {t('integrations.keys.intro')}
          </Text>
        </Stack>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreateOpen(true)}>
          {t('integrations.keys.new')}
        </Button>
      </Group>

      {keys.error ? (
        <ProblemAlert error={keys.error} title={t('integrations.keys.loadError')} />
      ) : keys.isPending ? (
        <Stack gap={6} aria-busy="true">
          <Skeleton height={72} radius="md" />
          <Skeleton height={72} radius="md" />
        </Stack>
      ) : list.length === 0 ? (
        <Paper withBorder p="lg" radius="md" ta="center">
          <Text>{t('integrations.keys.empty')}</Text>
        </Paper>
      ) : (
        <Stack gap="xs" component="ul" aria-label={t('integrations.keys.list')} p={0} m={0} style={{ listStyle: 'none' }}>
          {list.map((k) => (
            <li key={k.id}>
              <ApiKeyItem apiKey={k} onRevoke={() => setRevoking(k)} />
            </li>
          ))}
        </Stack>
      )}

      <Modal opened={createOpen} onClose={() => setCreateOpen(false)} title={t('integrations.keys.createTitle')}>
        {createOpen && (
          <CreateApiKeyForm
            onCancel={() => setCreateOpen(false)}
            onSubmit={async (body) => {
              const key = await api.createApiKey(customerId, body);
              setCreateOpen(false);
              setCreated({ name: key.name, secret: key.secret });
              refresh();
            }}
          />
        )}
      </Modal>

      <SecretModal
        secret={created?.secret ?? null}
        title={t('integrations.keys.createdTitle')}
        intro={t('integrations.keys.createdIntro', { name: created?.name ?? '' })}
        onClose={() => setCreated(null)}
      />

      <RevokeModal
        apiKey={revoking}
        onClose={() => setRevoking(null)}
        onConfirm={async (k) => {
          await api.revokeApiKey(customerId, k.id);
          notifications.show({ color: 'green', message: t('integrations.keys.revokedDone', { name: k.name }) });
          setRevoking(null);
          refresh();
        }}
      />
    </Stack>
  );
}

function ApiKeyItem({ apiKey: k, onRevoke }: { apiKey: ApiKey; onRevoke: () => void }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const revoked = k.revoked_at !== null;
  return (
    <Paper withBorder radius="md" p="sm" data-testid="api-key" data-key-id={k.id} aria-label={k.name} component="article" opacity={revoked ? 0.75 : 1}>
      <Group justify="space-between" align="flex-start" gap="sm" wrap="wrap">
        <Stack gap={4} style={{ minWidth: 0, flex: '1 1 240px' }}>
          <Group gap="xs" wrap="wrap">
            <IconKey size={16} aria-hidden />
            <Text fw={600} style={{ wordBreak: 'break-word' }} td={revoked ? 'line-through' : undefined}>
              {k.name}
            </Text>
            <Badge color={revoked ? 'gray' : 'green'} variant="dot" radius="sm" tt="none" data-testid="api-key-state">
              {revoked ? t('integrations.keys.revoked') : t('integrations.keys.active')}
            </Badge>
          </Group>
          <Text size="sm">
            <Text span c="dimmed" size="sm">
              {t('integrations.keys.prefix')}:{' '}
            </Text>
            <Text span className="mono" size="sm" data-testid="api-key-prefix">
              {k.prefix}…
            </Text>
          </Text>
          <Group gap={4} wrap="wrap" aria-label={t('integrations.keys.scopes')} role="list">
            {k.scopes.map((s) => (
              <Badge key={s} variant="outline" radius="sm" tt="none" className="mono" role="listitem" title={t(SCOPE_TEXT[s])}>
                {s}
              </Badge>
            ))}
          </Group>
          <Text size="xs" c="dimmed">
            {t('integrations.keys.created', { date: formatDateTime(k.created_at, locale) })} ·{' '}
            {t('integrations.keys.lastUsed', {
              date: k.last_used_at ? formatDateTime(k.last_used_at, locale) : t('integrations.never'),
            })}
            {k.revoked_at && <> · {t('integrations.keys.revokedAt', { date: formatDateTime(k.revoked_at, locale) })}</>}
          </Text>
        </Stack>
        {!revoked && (
          <Button variant="light" color="red" size="xs" onClick={onRevoke} aria-label={t('integrations.keys.revokeLabel', { name: k.name })}>
            {t('integrations.keys.revoke')}
          </Button>
        )}
      </Group>
    </Paper>
  );
}

/** CreateApiKeyForm asks for a name and at least one scope. */
function CreateApiKeyForm({ onSubmit, onCancel }: { onSubmit: (v: NewApiKey) => Promise<void>; onCancel: () => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<{ name: string; scopes: ApiKeyScope[] }>({
    mode: 'controlled',
    initialValues: { name: '', scopes: ['payments:read'] },
    validate: {
      name: (v) => (!v.trim() ? t('integrations.keys.errors.nameRequired') : v.trim().length > 100 ? t('integrations.keys.errors.nameLong') : null),
      scopes: (v) => (v.length === 0 ? t('integrations.keys.errors.scopesRequired') : null),
    },
  });
  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      // In the contract's order, whatever order they were ticked in.
      await onSubmit({ name: v.name.trim(), scopes: API_KEY_SCOPES.filter((s) => v.scopes.includes(s)) });
    } catch (err) {
      if (err instanceof ApiError) {
        const f = fieldErrors(err, t);
        if (f.name) form.setFieldError('name', f.name);
        if (f.scopes) form.setFieldError('scopes', f.scopes);
      }
      setError(err);
      setBusy(false);
    }
  });
  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        {error !== null && <ProblemAlert error={error} />}
        <TextInput
          label={t('integrations.keys.name')}
          description={t('integrations.keys.nameHint')}
          required
          data-autofocus
          maxLength={100}
          {...form.getInputProps('name')}
        />
        <Checkbox.Group label={t('integrations.keys.scopes')} required {...form.getInputProps('scopes')}>
          <Stack gap={6} mt={6}>
            {API_KEY_SCOPES.map((s) => (
              <Checkbox
                key={s}
                value={s}
                label={<Text span className="mono" size="sm">{s}</Text>}
                description={t(SCOPE_TEXT[s])}
              />
            ))}
          </Stack>
        </Checkbox.Group>
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={onCancel} disabled={busy}>
            {t('integrations.cancel')}
          </Button>
          <Button type="submit" loading={busy}>
            {t('integrations.keys.create')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** RevokeModal confirms revoking a key. */
function RevokeModal({
  apiKey,
  onClose,
  onConfirm,
}: {
  apiKey: ApiKey | null;
  onClose: () => void;
  onConfirm: (k: ApiKey) => Promise<void>;
}) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    setError(null);
    onClose();
  };
  const confirm = async () => {
    if (!apiKey) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm(apiKey);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={apiKey !== null} onClose={close} title={t('integrations.keys.revokeTitle')}>
      {apiKey && (
        <Stack>
          {error !== null && <ProblemAlert error={error} />}
          <Text>{t('integrations.keys.revokeText', { name: apiKey.name, prefix: apiKey.prefix })}</Text>
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={close} disabled={busy} data-autofocus>
              {t('integrations.cancel')}
            </Button>
            <Button color="red" onClick={() => void confirm()} loading={busy}>
              {t('integrations.keys.revokeConfirm')}
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
