import { Group, Text } from '@mantine/core';

/** Logo is the product mark and name. */
export function Logo({ compact = false }: { compact?: boolean }) {
  return (
    <Group gap={8} wrap="nowrap">
      <svg width="28" height="28" viewBox="0 0 64 64" aria-hidden focusable="false">
        <rect width="64" height="64" rx="14" fill="var(--mantine-primary-color-filled)" />
        <path
          d="M14 20l8 26 10-18 10 18 8-26"
          fill="none"
          stroke="#fff"
          strokeWidth="6"
          strokeLinecap="round"
          strokeLinejoin="round"
        />
      </svg>
      <Text fw={700} size="lg" component="span">
        Wildcat{' '}
        <Text span inherit visibleFrom={compact ? 'sm' : undefined}>
          Payments
        </Text>
      </Text>
    </Group>
  );
}
