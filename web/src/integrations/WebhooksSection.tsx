import { useState } from 'react';
import { Anchor, Badge, Button, Checkbox, Fieldset, Group, Modal, Paper, Skeleton, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { IconPlayerPause, IconPlayerPlay, IconPlus, IconTrash, IconEdit, IconList } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ApiError } from '../api/problem';
import { WEBHOOK_EVENT_TYPES, type NewWebhookEndpoint, type WebhookEndpoint, type WebhookEventType } from '../api/types';
import { useApi } from '../auth/context';
import { describeError, fieldErrors } from '../components/describeError';
import { ProblemAlert } from '../components/ProblemAlert';
import { deliveriesPath, webhookEndpointsKey } from './keys';
import { SecretModal } from './SecretModal';



/**
 * WebhooksSection lists a customer's webhook endpoints; creates one (showing its signing secret
 * once), edits, disables, re-enables and deletes them, and links to each one's delivery log.
 */
export function WebhooksSection({ customerId }: { customerId: string }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const [createOpen, setCreateOpen] = useState(false);
  const [editing, setEditing] = useState<WebhookEndpoint | null>(null);
  const [deleting, setDeleting] = useState<WebhookEndpoint | null>(null);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);

  const endpoints = useQuery({
    queryKey: webhookEndpointsKey(customerId),
    queryFn: ({ signal }) => api.listWebhookEndpoints(customerId, signal),
  });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: webhookEndpointsKey(customerId) });
  const list = endpoints.data ?? [];

  return (
    <Stack gap="sm" component="section" aria-labelledby="webhooks-title">
      <Group justify="space-between" gap="xs" align="flex-end">
        <Stack gap={2} style={{ flex: '1 1 260px' }}>
          <Title order={2} size="h3" id="webhooks-title">
            {t('integrations.webhooks.title')}
          </Title>
          <Text size="sm" c="dimmed">
            {t('integrations.webhooks.intro')}
          </Text>
        </Stack>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setCreateOpen(true)}>
          {t('integrations.webhooks.new')}
        </Button>
      </Group>

      {endpoints.error ? (
        <ProblemAlert error={endpoints.error} title={t('integrations.webhooks.loadError')} />
      ) : endpoints.isPending ? (
        <Stack gap={6} aria-busy="true">
          <Skeleton height={96} radius="md" />
        </Stack>
      ) : list.length === 0 ? (
        <Paper withBorder p="lg" radius="md" ta="center">
          <Text>{t('integrations.webhooks.empty')}</Text>
        </Paper>
      ) : (
        <Stack gap="xs" component="ul" aria-label={t('integrations.webhooks.list')} p={0} m={0} style={{ listStyle: 'none' }}>
          {list.map((e) => (
            <li key={e.id}>
              <EndpointItem
                customerId={customerId}
                endpoint={e}
                onEdit={() => setEditing(e)}
                onDelete={() => setDeleting(e)}
                onChanged={refresh}
              />
            </li>
          ))}
        </Stack>
      )}

      <Modal opened={createOpen} onClose={() => setCreateOpen(false)} title={t('integrations.webhooks.createTitle')} size="lg">
        {createOpen && (
          <EndpointForm
            initial={{ url: 'https://', description: '', events: [...WEBHOOK_EVENT_TYPES] }}
            submitLabel={t('integrations.webhooks.create')}
            onCancel={() => setCreateOpen(false)}
            onSubmit={async (v) => {
              const body: NewWebhookEndpoint = { url: v.url, events: v.events };
              if (v.description) body.description = v.description;
              const ep = await api.createWebhookEndpoint(customerId, body);
              setCreateOpen(false);
              setCreated({ url: ep.url, secret: ep.secret });
              refresh();
            }}
          />
        )}
      </Modal>

      <Modal opened={editing !== null} onClose={() => setEditing(null)} title={t('integrations.webhooks.editTitle')} size="lg">
        {editing && (
          <EndpointForm
            initial={{ url: editing.url, description: editing.description, events: editing.events }}
            submitLabel={t('integrations.webhooks.save')}
            onCancel={() => setEditing(null)}
            onSubmit={async (v) => {
              await api.updateWebhookEndpoint(customerId, editing.id, v);
              notifications.show({ color: 'green', message: t('integrations.webhooks.saved') });
              setEditing(null);
              refresh();
            }}
          />
        )}
      </Modal>

      <SecretModal
        secret={created?.secret ?? null}
        title={t('integrations.webhooks.createdTitle')}
        intro={t('integrations.webhooks.createdIntro', { url: created?.url ?? '' })}
        onClose={() => setCreated(null)}
      />

      <DeleteModal
        endpoint={deleting}
        onClose={() => setDeleting(null)}
        onConfirm={async (e) => {
          await api.deleteWebhookEndpoint(customerId, e.id);
          notifications.show({ color: 'green', message: t('integrations.webhooks.deleted') });
          setDeleting(null);
          refresh();
        }}
      />
    </Stack>
  );
}

/** EndpointStatus shows whether an endpoint is enabled, why not, and its run of failures. */
export function EndpointStatus({ endpoint: e }: { endpoint: WebhookEndpoint }) {
  const { t } = useTranslation();
  return (
    <Stack gap={2}>
      <Group gap="xs" wrap="wrap">
        <Badge color={e.enabled ? 'green' : 'red'} variant="dot" radius="sm" tt="none" data-testid="endpoint-state">
          {e.enabled ? t('integrations.webhooks.enabled') : t('integrations.webhooks.disabled')}
        </Badge>
        {e.consecutive_failures > 0 && (
          <Text size="xs" c="red.9" data-testid="endpoint-failures">
            {t('integrations.webhooks.failures', { count: e.consecutive_failures })}
          </Text>
        )}
      </Group>
      {!e.enabled && e.disabled_reason && (
        <Text size="xs" c="red.9" style={{ wordBreak: 'break-word' }}>
          {t('integrations.webhooks.disabledReason', { reason: e.disabled_reason })}
        </Text>
      )}
    </Stack>
  );
}

function EndpointItem({
  customerId,
  endpoint: e,
  onEdit,
  onDelete,
  onChanged,
}: {
  customerId: string;
  endpoint: WebhookEndpoint;
  onEdit: () => void;
  onDelete: () => void;
  onChanged: () => void;
}) {
  const { t } = useTranslation();
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const toggle = async () => {
    setBusy(true);
    try {
      await api.updateWebhookEndpoint(customerId, e.id, { enabled: !e.enabled });
      notifications.show({ color: 'green', message: e.enabled ? t('integrations.webhooks.disabledDone') : t('integrations.webhooks.enabledDone') });
      onChanged();
    } catch (err) {
      const d = describeError(err, t);
      notifications.show({ color: 'red', title: t('actions.failed'), message: d.message || d.title });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder radius="md" p="sm" data-testid="webhook-endpoint" data-endpoint-id={e.id} component="article" aria-label={e.url}>
      <Stack gap={6}>
        <Group justify="space-between" align="flex-start" gap="xs" wrap="wrap">
          <Stack gap={2} style={{ minWidth: 0, flex: '1 1 240px' }}>
            <Text fw={600} className="mono" size="sm" style={{ wordBreak: 'break-all' }} data-testid="endpoint-url">
              {e.url}
            </Text>
            {e.description && (
              <Text size="sm" c="dimmed" style={{ wordBreak: 'break-word' }}>
                {e.description}
              </Text>
            )}
          </Stack>
          <EndpointStatus endpoint={e} />
        </Group>
        <Group gap={4} wrap="wrap" role="list" aria-label={t('integrations.webhooks.events')}>
          {e.events.map((ev) => (
            <Badge key={ev} variant="light" color="gray" radius="sm" tt="none" className="mono" role="listitem">
              {ev}
            </Badge>
          ))}
        </Group>
        <Group gap="xs" wrap="wrap">
          <Anchor
            component={Link}
            to={deliveriesPath(customerId, e.id)}
            size="sm"
            aria-label={t('integrations.webhooks.deliveriesLabel', { url: e.url })}
          >
            <Group gap={4} wrap="nowrap" component="span">
              <IconList size={16} aria-hidden />
              {t('integrations.webhooks.deliveries')}
            </Group>
          </Anchor>
          <Group gap="xs" wrap="wrap" ml="auto">
            <Button variant="default" size="xs" leftSection={<IconEdit size={14} aria-hidden />} onClick={onEdit} aria-label={t('integrations.webhooks.editLabel', { url: e.url })}>
              {t('integrations.webhooks.edit')}
            </Button>
            <Button
              variant="default"
              size="xs"
              loading={busy}
              leftSection={e.enabled ? <IconPlayerPause size={14} aria-hidden /> : <IconPlayerPlay size={14} aria-hidden />}
              onClick={() => void toggle()}
              aria-label={t(e.enabled ? 'integrations.webhooks.disableLabel' : 'integrations.webhooks.enableLabel', { url: e.url })}
            >
              {e.enabled ? t('integrations.webhooks.disable') : t('integrations.webhooks.enable')}
            </Button>
            <Button
              variant="light"
              color="red"
              size="xs"
              leftSection={<IconTrash size={14} aria-hidden />}
              onClick={onDelete}
              aria-label={t('integrations.webhooks.deleteLabel', { url: e.url })}
            >
              {t('integrations.webhooks.delete')}
            </Button>
          </Group>
        </Group>
      </Stack>
    </Paper>
  );
}

interface EndpointValues {
  url: string;
  description: string;
  events: WebhookEventType[];
}

/** EndpointForm creates or edits an endpoint's URL, description and events. */
function EndpointForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial: EndpointValues;
  submitLabel: string;
  onSubmit: (v: EndpointValues) => Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm<EndpointValues>({
    mode: 'controlled',
    initialValues: initial,
    validate: {
      url: (v) => (!isHttpUrl(v.trim()) ? t('integrations.webhooks.errors.urlInvalid') : v.trim().length > 2048 ? t('integrations.webhooks.errors.urlLong') : null),
      description: (v) => (v.trim().length > 500 ? t('integrations.webhooks.errors.descriptionLong') : null),
      events: (v) => (v.length === 0 ? t('integrations.webhooks.errors.eventsRequired') : null),
    },
  });
  const events = form.getValues().events;
  const all = events.length === WEBHOOK_EVENT_TYPES.length;
  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      await onSubmit({
        url: v.url.trim(),
        description: v.description.trim(),
        events: WEBHOOK_EVENT_TYPES.filter((e) => v.events.includes(e)),
      });
    } catch (err) {
      if (err instanceof ApiError) {
        const f = fieldErrors(err, t);
        for (const k of ['url', 'description', 'events'] as const) if (f[k]) form.setFieldError(k, f[k]);
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
          label={t('integrations.webhooks.url')}
          description={t('integrations.webhooks.urlHint')}
          type="url"
          required
          data-autofocus
          maxLength={2048}
          classNames={{ input: 'mono' }}
          {...form.getInputProps('url')}
        />
        <Textarea label={t('integrations.webhooks.description')} autosize minRows={1} maxRows={4} maxLength={500} {...form.getInputProps('description')} />
        <Fieldset
          variant="unstyled"
          legend={
            <Text size="sm" fw={500}>
              {t('integrations.webhooks.events')}{' '}
              <Text span c="var(--mantine-color-error)" aria-hidden>
                *
              </Text>
            </Text>
          }
        >
          <Checkbox
            mt={4}
            mb={6}
            label={t('integrations.webhooks.allEvents')}
            checked={all}
            indeterminate={!all && events.length > 0}
            onChange={() => form.setFieldValue('events', all ? [] : [...WEBHOOK_EVENT_TYPES])}
          />
          {/* The "all" box sits outside the group: inside it, the group would own its checked state. */}
          <Checkbox.Group {...form.getInputProps('events')} aria-label={t('integrations.webhooks.events')}>
            <EventCheckboxes />
          </Checkbox.Group>
        </Fieldset>
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={onCancel} disabled={busy}>
            {t('integrations.cancel')}
          </Button>
          <Button type="submit" loading={busy}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function EventCheckboxes() {
  const { t } = useTranslation();
  return (
    <Stack gap={4} pl="md">
      {WEBHOOK_EVENT_TYPES.map((ev) => (
        <Checkbox
          key={ev}
          value={ev}
          label={
            <>
              <Text span className="mono" size="sm">
                {ev}
              </Text>{' '}
              <Text span size="xs" c="dimmed">
                — {t(`timeline.types.${ev}`)}
              </Text>
            </>
          }
        />
      ))}
    </Stack>
  );
}

/** isHttpUrl accepts an absolute http(s) URL; whether http:// is allowed is the server's call. */
function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** DeleteModal confirms deleting an endpoint. */
function DeleteModal({
  endpoint,
  onClose,
  onConfirm,
}: {
  endpoint: WebhookEndpoint | null;
  onClose: () => void;
  onConfirm: (e: WebhookEndpoint) => Promise<void>;
}) {
  const { t } = useTranslation();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    setError(null);
    onClose();
  };
  const confirm = async () => {
    if (!endpoint) return;
    setBusy(true);
    setError(null);
    try {
      await onConfirm(endpoint);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal opened={endpoint !== null} onClose={close} title={t('integrations.webhooks.deleteTitle')}>
      {endpoint && (
        <Stack>
          {error !== null && <ProblemAlert error={error} />}
          <Text style={{ wordBreak: 'break-word' }}>{t('integrations.webhooks.deleteText', { url: endpoint.url })}</Text>
          <Group justify="flex-end" gap="xs">
            <Button variant="default" onClick={close} disabled={busy} data-autofocus>
              {t('integrations.cancel')}
            </Button>
            <Button color="red" onClick={() => void confirm()} loading={busy}>
              {t('integrations.webhooks.deleteConfirm')}
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
