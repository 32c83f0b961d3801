import { useState } from 'react';
import { Anchor, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, useNavigate, useSearchParams } from 'react-router';
import { ApiError } from '../api/problem';
import { useAuth } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { PublicLayout } from './PublicLayout';
import { safeNext } from './safeNext';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** SignupPage creates an account and signs the new user in. */
export function SignupPage() {
  const { t } = useTranslation();
  const { session, api, login } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    mode: 'controlled',
    initialValues: { name: '', email: '', password: '' },
    validate: {
      name: (v) => (v.trim() ? null : t('auth.errors.nameRequired')),
      email: (v) => (!v.trim() ? t('auth.errors.emailRequired') : EMAIL.test(v.trim()) ? null : t('auth.errors.emailInvalid')),
      password: (v) => (v.length >= 12 ? null : t('auth.errors.passwordShort')),
    },
  });
  const next = safeNext(params.get('next'));

  if (session && !busy) return <Navigate to={next} replace />;

  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    const body = { name: values.name.trim(), email: values.email.trim(), password: values.password };
    try {
      await api.signUp(body);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        form.setFieldError('email', t('auth.errors.emailTaken'));
      } else {
        if (err instanceof ApiError) {
          const fields = err.fieldErrors();
          for (const k of ['name', 'email', 'password'] as const) {
            if (fields[k]) form.setFieldError(k, fields[k]);
          }
        }
        setError(err);
      }
      setBusy(false);
      return;
    }
    try {
      await login(body.email, body.password);
      notifications.show({ color: 'green', message: t('auth.signupDone', { name: body.name }) });
      void navigate(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  });

  return (
    <PublicLayout title={t('auth.signupTitle')} subtitle={t('auth.signupSubtitle')}>
      <form onSubmit={submit} noValidate aria-label={t('auth.signup')}>
        <Stack>
          {error !== null && <ProblemAlert error={error} />}
          <TextInput label={t('auth.name')} autoComplete="name" required {...form.getInputProps('name')} />
          <TextInput label={t('auth.email')} type="email" autoComplete="email" required {...form.getInputProps('email')} />
          <PasswordInput
            label={t('auth.password')}
            description={t('auth.passwordHint')}
            autoComplete="new-password"
            required
            visibilityToggleButtonProps={{ 'aria-label': t('auth.showPassword') }}
            {...form.getInputProps('password')}
          />
          <Button type="submit" loading={busy} fullWidth size="md">
            {t('auth.signup')}
          </Button>
          <Text size="sm" ta="center">
            {t('auth.haveAccount')}{' '}
            <Anchor component={Link} to="/login">
              {t('auth.goLogin')}
            </Anchor>
          </Text>
        </Stack>
      </form>
    </PublicLayout>
  );
}
