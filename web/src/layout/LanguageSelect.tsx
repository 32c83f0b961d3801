import { NativeSelect } from '@mantine/core';
import { IconLanguage } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, toLanguage } from '../i18n';

/** LanguageSelect switches the UI language; a native select so it works the same with keyboard, touch and screen readers. */
export function LanguageSelect() {
  const { t, i18n } = useTranslation();
  return (
    <NativeSelect
      aria-label={t('app.language')}
      value={toLanguage(i18n.language)}
      onChange={(e) => void i18n.changeLanguage(e.currentTarget.value)}
      data={LANGUAGES.map((l) => ({ value: l.value, label: l.label }))}
      leftSection={<IconLanguage size={16} aria-hidden />}
      size="xs"
      w={116}
    />
  );
}
