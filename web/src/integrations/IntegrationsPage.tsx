import { Anchor, Divider, Group, Paper, Skeleton, Stack, Text, Title } from '@mantine/core';
import { IconArrowLeft } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { ProblemAlert } from '../components/ProblemAlert';
import { ApiKeysSection } from './ApiKeysSection';
import { useCustomer, type CustomerAccess } from './useCustomer';
import { WebhooksSection } from './WebhooksSection';


/** IntegrationsPage is a customer's API keys and webhook endpoints (/customers/:customerId/integrations). */
export function IntegrationsPage() {
  const { t } = useTranslation();
  const { customerId = '' } = useParams();
  const access = useCustomer(customerId);
  return (
    <Stack gap="lg">
      <Anchor component={Link} to="/customers" size="sm">
        <Group gap={4} component="span" wrap="nowrap">
          <IconArrowLeft size={14} aria-hidden />
          {t('integrations.back')}
        </Group>
      </Anchor>
      <CustomerGate access={access}>
        {(name) => (
          <>
            <Stack gap={2}>
              <Title order={1} size="h2">
                {t('integrations.title')}
              </Title>
              <Text c="dimmed" size="sm">
                {t('integrations.subtitle', { customer: name })}
              </Text>
            </Stack>
            <ApiKeysSection customerId={customerId} />
            <Divider />
            <WebhooksSection customerId={customerId} />
          </>
        )}
      </CustomerGate>
    </Stack>
  );
}

/** CustomerGate renders its children only for a customer the user may manage; otherwise it says why. */
export function CustomerGate({ access, children }: { access: CustomerAccess; children: (customerName: string) => ReactNode }) {
  const { t } = useTranslation();
  if (access.error) return <ProblemAlert error={access.error} title={t('integrations.loadError')} />;
  if (access.isPending) return <Skeleton height={160} radius="md" />;
  if (!access.customer || !access.allowed) {
    return (
      <Paper withBorder p="xl" radius="md" ta="center">
        <Text>{t('integrations.notFound')}</Text>
      </Paper>
    );
  }
  return <>{children(access.customer.name)}</>;
}
