import { useState } from 'react';
import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconInfoCircle } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/problem';
import { useAuth } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { PublicLayout } from './PublicLayout';
import { safeNext } from './safeNext';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** LoginPage signs a user in and sends them back where they were going. */
export function LoginPage() {
  const { t } = useTranslation();
  const { session, login, notice, clearNotice } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    mode: 'controlled',
    initialValues: { email: '', password: '' },
    validate: {
      email: (v) => (!v.trim() ? t('auth.errors.emailRequired') : EMAIL.test(v.trim()) ? null : t('auth.errors.emailInvalid')),
      password: (v) => (v ? null : t('auth.errors.passwordRequired')),
    },
  });
  const next = safeNext(params.get('next'));

  if (session && !busy) return <Navigate to={next} replace />;

  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      await login(values.email.trim(), values.password);
      clearNotice();
      void navigate(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  });

  const noticeText =
    notice === 'expired' ? t('auth.expired') : notice === 'unauthorized' ? t('auth.unauthorized') : notice === 'logout' ? t('auth.loggedOut') : null;

  return (
    <PublicLayout title={t('auth.loginTitle')} subtitle={t('auth.loginSubtitle')}>
      <form onSubmit={submit} noValidate aria-label={t('auth.login')}>
        <Stack>
          {noticeText && !error && (
            <Alert
              color={notice === 'logout' ? 'blue' : 'yellow'}
              icon={<IconInfoCircle aria-hidden />}
              role="status"
              withCloseButton
              onClose={clearNotice}
              closeButtonLabel={t('app.close')}
            >
              {noticeText}
            </Alert>
          )}
          {error !== null &&
            (error instanceof ApiError && error.status === 401 ? (
              <Alert color="red" role="alert">
                {t('auth.badCredentials')}
              </Alert>
            ) : (
              <ProblemAlert error={error} />
            ))}
          <TextInput
            label={t('auth.email')}
            type="email"
            autoComplete="username"
            required
            {...form.getInputProps('email')}
          />
          <PasswordInput
            label={t('auth.password')}
            autoComplete="current-password"
            required
            visibilityToggleButtonProps={{ 'aria-label': t('auth.showPassword') }}
            {...form.getInputProps('password')}
          />
          <Button type="submit" loading={busy} fullWidth size="md">
            {t('auth.login')}
          </Button>
          <Text size="sm" ta="center">
            {t('auth.noAccount')}{' '}
            <Anchor component={Link} to={`/signup${params.get('next') ? `?next=${encodeURIComponent(next)}` : ''}`}>
              {t('auth.goSignup')}
            </Anchor>
          </Text>
        </Stack>
      </form>
    </PublicLayout>
  );
}
