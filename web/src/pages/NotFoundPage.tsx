import { Anchor, Stack, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';

/** NotFoundPage is shown for unknown paths inside the app. */
export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <Stack align="flex-start">
      <Title order={1}>{t('notFound.title')}</Title>
      <Anchor component={Link} to="/payments">
        {t('notFound.back')}
      </Anchor>
    </Stack>
  );
}
