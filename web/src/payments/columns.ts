// The payments table's columns: which ones a person shows, in what density, and which CSV
// columns of the query API's export each one stands for. The choice is kept per user in
// localStorage, so it survives reloads and a colleague on the same browser keeps their own.
import { useLocalStorage } from '@mantine/hooks';

/** ColumnKey is a column of the payments table. */
export type ColumnKey =
  | 'date'
  | 'reference'
  | 'customer'
  | 'executedBy'
  | 'thirdParty'
  | 'description'
  | 'amount'
  | 'refunded'
  | 'status'
  | 'attempts'
  | 'processedAt'
  | 'id';

/** COLUMNS lists every table column in display order. */
export const COLUMNS: readonly ColumnKey[] = [
  'date',
  'reference',
  'customer',
  'executedBy',
  'thirdParty',
  'description',
  'amount',
  'refunded',
  'status',
  'attempts',
  'processedAt',
  'id',
];

/** DEFAULT_COLUMNS is what a new user sees. */
export const DEFAULT_COLUMNS: readonly ColumnKey[] = ['date', 'reference', 'customer', 'executedBy', 'thirdParty', 'amount', 'status'];

/** REQUIRED_COLUMNS cannot be hidden: the reference opens the detail page. */
export const REQUIRED_COLUMNS: readonly ColumnKey[] = ['reference'];

/** CSV_COLUMNS maps each table column to the export's columns (docs/query-api.md, `columns=`). */
export const CSV_COLUMNS: Record<ColumnKey, readonly string[]> = {
  date: ['date'],
  reference: ['payment_ref_id'],
  customer: ['customer_id', 'customer_name'],
  executedBy: ['executed_by_type', 'executed_by_id', 'executed_by_name'],
  thirdParty: ['third_party'],
  description: ['description'],
  amount: ['amount_minor', 'amount', 'currency'],
  refunded: ['amount_refunded'],
  status: ['status', 'failure_code'],
  attempts: ['attempts'],
  processedAt: ['processed_at'],
  id: ['id'],
};

/** Density is the table's row spacing. */
export type Density = 'comfortable' | 'compact';

/** TableSettings is what a user chose for the table. */
export interface TableSettings {
  columns: ColumnKey[];
  density: Density;
}

/** DEFAULT_SETTINGS are a new user's table settings. */
export const DEFAULT_SETTINGS: TableSettings = { columns: [...DEFAULT_COLUMNS], density: 'comfortable' };

/** normalizeSettings keeps known columns in display order, always with the required ones. */
export function normalizeSettings(raw: unknown): TableSettings {
  const r = (raw ?? {}) as Partial<TableSettings>;
  const chosen = Array.isArray(r.columns) ? r.columns : DEFAULT_SETTINGS.columns;
  const columns = COLUMNS.filter((c) => chosen.includes(c) || REQUIRED_COLUMNS.includes(c));
  return { columns, density: r.density === 'compact' ? 'compact' : 'comfortable' };
}

/** csvColumns returns the export's `columns=` value for the shown table columns, in order. */
export function csvColumns(columns: readonly ColumnKey[]): string {
  return COLUMNS.filter((c) => columns.includes(c))
    .flatMap((c) => CSV_COLUMNS[c])
    .join(',');
}

/** settingsKey is the localStorage key of a user's table settings. */
export function settingsKey(userId: string): string {
  return `wildcat.table.${userId}`;
}

/** useTableSettings returns the user's table settings and a setter that stores them. */
export function useTableSettings(userId: string): [TableSettings, (next: TableSettings) => void] {
  const [stored, setStored] = useLocalStorage<TableSettings>({
    key: settingsKey(userId),
    defaultValue: DEFAULT_SETTINGS,
    getInitialValueInEffect: false,
  });
  return [normalizeSettings(stored), (next) => setStored(normalizeSettings(next))];
}
