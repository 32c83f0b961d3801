import i18n from 'i18next';
import { initReactI18next, useTranslation } from 'react-i18next';
import dayjs from 'dayjs';
import 'dayjs/locale/da';
import 'dayjs/locale/en-gb';
import en from './en';
import da from './da';

/** Language is a UI language. */
export type Language = 'en' | 'da';

/** LANGUAGES lists the UI languages with their own names. */
export const LANGUAGES: readonly { value: Language; label: string }[] = [
  { value: 'en', label: 'English' },
  { value: 'da', label: 'Dansk' },
];

/** INTL_LOCALE maps a UI language to the locale used for dates and amounts. */
export const INTL_LOCALE: Record<Language, string> = { en: 'en-GB', da: 'da-DK' };
const DAYJS_LOCALE: Record<Language, string> = { en: 'en-gb', da: 'da' };

const STORAGE_KEY = 'wildcat.language';

function initialLanguage(): Language {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'da') return saved;
  } catch {
    // storage may be disabled
  }
  const nav = typeof navigator !== 'undefined' ? navigator.language.toLowerCase() : 'en';
  return nav.startsWith('da') ? 'da' : 'en';
}

/** toLanguage narrows any language tag to a supported UI language. */
export function toLanguage(lng: string | undefined): Language {
  return lng?.startsWith('da') ? 'da' : 'en';
}

function applyLanguage(lng: Language): void {
  dayjs.locale(DAYJS_LOCALE[lng]);
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, da: { translation: da } },
  lng: initialLanguage(),
  fallbackLng: 'en',
  supportedLngs: ['en', 'da'],
  interpolation: { escapeValue: false },
  returnNull: false,
});
applyLanguage(toLanguage(i18n.language));

i18n.on('languageChanged', (lng) => {
  const l = toLanguage(lng);
  applyLanguage(l);
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // ignore
  }
});

/** useLocale returns the current UI language and the Intl locale that goes with it. */
export function useLocale(): { language: Language; locale: string; dayjsLocale: string } {
  const { i18n: instance } = useTranslation();
  const language = toLanguage(instance.language);
  return { language, locale: INTL_LOCALE[language], dayjsLocale: DAYJS_LOCALE[language] };
}

export default i18n;
