import { createTheme, type CSSVariablesResolver } from '@mantine/core';

/** theme is the Mantine theme: system font, a calm blue, and a visible focus ring for keyboard users. */
export const theme = createTheme({
  primaryColor: 'blue',
  // Shade 8 keeps white text on filled buttons and link colours above WCAG AA contrast (4.5:1).
  primaryShade: { light: 8, dark: 5 },
  defaultRadius: 'md',
  focusRing: 'auto',
  fontFamily:
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif',
  fontFamilyMonospace: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
  components: {
    Button: { defaultProps: { fw: 600 } },
  },
});

/**
 * cssVariablesResolver darkens Mantine's default light-scheme greys and tinted-variant text so
 * that secondary text, subtle buttons and active navigation meet WCAG AA contrast.
 */
export const cssVariablesResolver: CSSVariablesResolver = (t) => ({
  variables: {},
  light: {
    '--mantine-color-dimmed': t.colors.gray[7],
    '--mantine-color-placeholder': t.colors.gray[6],
    '--mantine-color-blue-light-color': t.colors.blue[9],
    '--mantine-primary-color-light-color': t.colors.blue[9],
    '--mantine-color-red-light-color': t.colors.red[9],
    '--mantine-color-red-filled': t.colors.red[9],
    '--mantine-color-red-text': t.colors.red[9],
    '--mantine-color-error': t.colors.red[9],
    '--mantine-color-green-light-color': t.colors.green[9],
    '--mantine-color-teal-light-color': t.colors.teal[9],
  },
  dark: {},
});
