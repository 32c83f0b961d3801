import { Alert, Button, Code, CopyButton, Group, Modal, Stack, Text } from '@mantine/core';
import { IconAlertTriangle, IconCheck, IconCopy } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';

/**
 * SecretModal shows a secret the API returns once (an API key, a webhook signing secret) with a
 * copy button and a warning that it cannot be seen again. It closes only through its button, so a
 * stray click outside cannot throw the secret away; the caller drops the secret on close.
 */
export function SecretModal({
  secret,
  title,
  intro,
  onClose,
}: {
  secret: string | null;
  title: string;
  intro: string;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Modal
      opened={secret !== null}
      onClose={onClose}
      title={title}
      closeOnClickOutside={false}
      closeOnEscape={false}
      withCloseButton={false}
      size="lg"
    >
      {secret !== null && (
        <Stack>
          <Alert
            color="yellow"
            variant="light"
            icon={<IconAlertTriangle aria-hidden />}
            title={t('integrations.secret.warningTitle')}
            // Yellow text on the light yellow background is too faint (WCAG AA): the title keeps the text colour.
            styles={{ title: { color: 'var(--mantine-color-text)' } }}
          >
            {t('integrations.secret.warning')}
          </Alert>
          <Text size="sm">{intro}</Text>
          <Group gap="xs" wrap="wrap" align="center">
            <Code
              block
              data-testid="secret"
              style={{ flex: '1 1 240px', minWidth: 0, wordBreak: 'break-all', whiteSpace: 'pre-wrap', fontSize: 'var(--mantine-font-size-sm)' }}
            >
              {secret}
            </Code>
            <CopyButton value={secret} timeout={2000}>
              {({ copied, copy }) => (
                <Button
                  variant={copied ? 'filled' : 'light'}
                  color={copied ? 'teal' : undefined}
                  onClick={copy}
                  leftSection={copied ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
                  style={{ flexShrink: 0 }}
                >
                  {copied ? t('integrations.secret.copied') : t('integrations.secret.copy')}
                </Button>
              )}
            </CopyButton>
          </Group>
          <Group justify="flex-end">
            <Button onClick={onClose} data-autofocus>
              {t('integrations.secret.done')}
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}
