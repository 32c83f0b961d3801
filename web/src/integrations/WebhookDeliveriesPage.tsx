import { Anchor, Badge, Group, Paper, Skeleton, Stack, Text, Title } from '@mantine/core';
import { IconArrowLeft } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { useApi } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { DeliveryLog } from './DeliveryLog';
import { CustomerGate } from './IntegrationsPage';
import { integrationsPath, webhookEndpointsKey } from './keys';
import { useCustomer } from './useCustomer';
import { EndpointStatus } from './WebhooksSection';

/** WebhookDeliveriesPage is one webhook endpoint and its delivery log (/customers/:customerId/webhooks/:endpointId). */
export function WebhookDeliveriesPage() {
  const { t } = useTranslation();
  const { customerId = '', endpointId = '' } = useParams();
  const access = useCustomer(customerId);
  return (
    <Stack gap="lg">
      <Anchor component={Link} to={integrationsPath(customerId)} size="sm">
        <Group gap={4} component="span" wrap="nowrap">
          <IconArrowLeft size={14} aria-hidden />
          {t('integrations.deliveries.back')}
        </Group>
      </Anchor>
      <CustomerGate access={access}>
        {(name) => <Endpoint customerId={customerId} endpointId={endpointId} customerName={name} />}
      </CustomerGate>
    </Stack>
  );
}

function Endpoint({ customerId, endpointId, customerName }: { customerId: string; endpointId: string; customerName: string }) {
  const { t } = useTranslation();
  const api = useApi();
  const endpoint = useQuery({
    queryKey: [...webhookEndpointsKey(customerId), endpointId],
    queryFn: ({ signal }) => api.getWebhookEndpoint(customerId, endpointId, signal),
  });
  if (endpoint.error) return <ProblemAlert error={endpoint.error} title={t('integrations.deliveries.endpointLoadError')} />;
  if (endpoint.isPending) return <Skeleton height={120} radius="md" />;
  const e = endpoint.data;
  return (
    <>
      <Stack gap={4}>
        <Text size="sm" c="dimmed">
          {customerName} · {t('integrations.webhooks.title')}
        </Text>
        <Title order={1} size="h3" className="mono" style={{ wordBreak: 'break-all' }}>
          {e.url}
        </Title>
        {e.description && (
          <Text size="sm" c="dimmed" style={{ wordBreak: 'break-word' }}>
            {e.description}
          </Text>
        )}
      </Stack>
      <Paper withBorder radius="md" p="sm">
        <Stack gap="xs">
          <EndpointStatus endpoint={e} />
          <Group gap={4} wrap="wrap" role="list" aria-label={t('integrations.webhooks.events')}>
            {e.events.map((ev) => (
              <Badge key={ev} variant="light" color="gray" radius="sm" tt="none" className="mono" role="listitem">
                {ev}
              </Badge>
            ))}
          </Group>
        </Stack>
      </Paper>
      <DeliveryLog customerId={customerId} endpointId={endpointId} />
    </>
  );
}
