import { startOfDay } from '../payments/filters';
import { isoDay } from '../payments/format';

/** RANGES are the periods offered, in days ending today. */
export const RANGES = [7, 30, 90] as const;
/** Range is one of RANGES. */
export type Range = (typeof RANGES)[number];

function viewerTimeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** rangeQuery returns the summary parameters of the last `days` calendar days in the viewer's zone. */
export function rangeQuery(days: number, now = new Date(), timeZone = viewerTimeZone()): URLSearchParams {
  const today = isoDay(now);
  const q = new URLSearchParams();
  q.set('from', startOfDay(today, -(days - 1)));
  q.set('to', startOfDay(today, 1));
  if (timeZone) q.set('tz', timeZone);
  return q;
}
