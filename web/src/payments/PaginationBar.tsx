import { Button, Group, NativeSelect, Text } from '@mantine/core';
import { IconChevronLeft, IconChevronRight, IconChevronsLeft } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { useLocale } from '../i18n';
import { PAGE_SIZES } from './filters';
import { formatCount } from './format';

/** PaginationBarProps configures PaginationBar. */
export interface PaginationBarProps {
  pageIndex: number | null;
  /** pageSize is the size selected for the next request. */
  pageSize: number;
  /** dataPageSize is the size the rows on screen were fetched with. */
  dataPageSize: number;
  shown: number;
  total: number | undefined;
  /** totalIsLowerBound is set when the API counted only up to a limit (total_relation "gte"): total is then shown as "10,000+". */
  totalIsLowerBound?: boolean;
  hasMore: boolean;
  canGoBack: boolean;
  onFirst: () => void;
  onPrevious: () => void;
  onNext: () => void;
  onPageSize: (n: number) => void;
  disabled?: boolean;
}

/** PaginationBar pages with the API's cursors: first, previous, next, plus the page size. */
export function PaginationBar(p: PaginationBarProps) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const sizes = PAGE_SIZES.includes(p.pageSize as (typeof PAGE_SIZES)[number]) ? PAGE_SIZES : [...PAGE_SIZES, p.pageSize].sort((a, b) => a - b);
  const start = p.pageIndex !== null ? p.pageIndex * p.dataPageSize + 1 : null;
  const pages = p.total !== undefined ? Math.max(1, Math.ceil(p.total / p.dataPageSize)) : null;
  const total =
    p.total === undefined
      ? ''
      : p.totalIsLowerBound
        ? t('payments.pagination.totalAtLeast', { total: formatCount(p.total, locale) })
        : formatCount(p.total, locale);
  const page = formatCount((p.pageIndex ?? 0) + 1, locale);
  return (
    <Group component="nav" aria-label={t('payments.pagination.label')} justify="space-between" gap="sm" wrap="wrap">
      <Group gap="xs" wrap="nowrap">
        <NativeSelect
          label={t('payments.pagination.pageSize')}
          size="xs"
          value={String(p.pageSize)}
          onChange={(e) => p.onPageSize(Number(e.currentTarget.value))}
          data={sizes.map((n) => String(n))}
          styles={{ root: { display: 'flex', alignItems: 'center', gap: 8 }, label: { whiteSpace: 'nowrap' } }}
        />
      </Group>
      <Text
        size="sm"
        c="dimmed"
        aria-live="polite"
        data-testid="page-range"
        className="tabular"
        title={
          p.total !== undefined && p.totalIsLowerBound
            ? t('payments.pagination.totalAtLeastLabel', { total: formatCount(p.total, locale) })
            : undefined
        }
      >
        {start !== null && p.total !== undefined && p.shown > 0
          ? `${t('payments.pagination.range', {
              from: formatCount(start, locale),
              to: formatCount(start + p.shown - 1, locale),
              total,
            })} · ${
              // With a lower bound the number of pages is unknown.
              p.totalIsLowerBound
                ? t('payments.pagination.pageOnly', { page })
                : t('payments.pagination.page', { page, pages: formatCount(pages ?? 1, locale) })
            }`
          : null}
      </Text>
      <Group gap={6} wrap="nowrap">
        <Button
          variant="default"
          size="xs"
          onClick={p.onFirst}
          disabled={p.disabled || p.pageIndex === 0}
          aria-label={t('payments.pagination.first')}
        >
          <IconChevronsLeft size={16} aria-hidden />
        </Button>
        <Button
          variant="default"
          size="xs"
          onClick={p.onPrevious}
          disabled={p.disabled || !p.canGoBack}
          leftSection={<IconChevronLeft size={16} aria-hidden />}
        >
          {t('payments.pagination.previous')}
        </Button>
        <Button
          variant="default"
          size="xs"
          onClick={p.onNext}
          disabled={p.disabled || !p.hasMore}
          rightSection={<IconChevronRight size={16} aria-hidden />}
        >
          {t('payments.pagination.next')}
        </Button>
      </Group>
    </Group>
  );
}
