import { Alert, List, type AlertProps } from '@mantine/core';
import { IconAlertCircle } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { describeError } from './describeError';

/** ProblemAlert shows an API error: its title, detail and every field error. */
export function ProblemAlert({
  error,
  title,
  ...rest
}: { error: unknown; title?: string } & Omit<AlertProps, 'title' | 'children'>) {
  const { t } = useTranslation();
  const d = describeError(error, t);
  // With a caller-given title (what failed), the problem's own title becomes part of the message.
  const message = title ? [d.title !== title ? d.title : '', d.message].filter(Boolean).join(': ') : d.message;
  return (
    <Alert color="red" variant="light" icon={<IconAlertCircle aria-hidden />} title={title ?? d.title} role="alert" {...rest}>
      {message}
      {d.fields.length > 0 && (
        <List size="sm" mt={message ? 'xs' : 0}>
          {d.fields.map((f) => (
            <List.Item key={`${f.field}:${f.message}`}>
              {f.field ? t('errors.fieldPrefix', { field: f.field, message: f.message }) : f.message}
            </List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
