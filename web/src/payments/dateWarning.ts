import { localDateTimeToRfc3339 } from './format';

/** PAST_TOLERANCE_MS: a payment dated up to a day back (yesterday evening, say) is not worth a warning. */
export const PAST_TOLERANCE_MS = 24 * 60 * 60 * 1000;
/** FUTURE_TOLERANCE_MS absorbs picking the current minute and small clock differences. */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

/** DateWarning says that a chosen payment date is unusual, and which way. */
export interface DateWarning {
  kind: 'past' | 'future';
  /** iso is the chosen date as an RFC 3339 instant (what is sent). */
  iso: string;
}

/**
 * dateWarning checks the create form's date (the picker's local "YYYY-MM-DD HH:mm:ss"): more than a
 * day before now is "past", later than now (beyond a few minutes) is "future", anything else, or no
 * date at all, needs no warning.
 */
export function dateWarning(value: string | null | undefined, now: Date = new Date()): DateWarning | null {
  if (!value) return null;
  const iso = localDateTimeToRfc3339(value);
  if (!iso) return null;
  const at = new Date(iso).getTime();
  if (at < now.getTime() - PAST_TOLERANCE_MS) return { kind: 'past', iso };
  if (at > now.getTime() + FUTURE_TOLERANCE_MS) return { kind: 'future', iso };
  return null;
}
