/** formatDateTime renders an RFC 3339 instant in the viewer's time zone, e.g. "25 Nov 2026, 14:03". */
export function formatDateTime(iso: string, locale: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** formatDay renders a YYYY-MM-DD calendar day, e.g. "25 Nov". */
export function formatDay(day: string, locale: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(y, m - 1, d));
}

/** formatCount renders an integer with the locale's grouping. */
export function formatCount(n: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(n);
}

/** shortRef shows the first block of a UUID, enough to recognise it in a table. */
export function shortRef(uuid: string): string {
  return uuid.length > 8 ? `${uuid.slice(0, 8)}…` : uuid;
}

/**
 * refLabel shows a payment reference so that rows are told apart: generated references are
 * time-ordered (UUIDv7), so rows made the same minute share their first block; the random tail
 * differs. The head keeps a hint of the time order.
 */
export function refLabel(uuid: string): string {
  return uuid.length > 12 ? `${uuid.slice(0, 4)}…${uuid.slice(-8)}` : uuid;
}

/** todayIso returns today's local date as YYYY-MM-DD. */
export function todayIso(now = new Date()): string {
  return isoDay(now);
}

/** isoDay formats a Date as its local YYYY-MM-DD. */
export function isoDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** parseDayInput accepts YYYY-MM-DD and day-first DD.MM.YYYY / DD/MM/YYYY / DD-MM-YYYY; returns YYYY-MM-DD or null. */
export function parseDayInput(input: string): string | null {
  const s = input.trim();
  let y: number, m: number, d: number;
  let match = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (match) {
    [y, m, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  } else {
    match = /^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$/.exec(s);
    if (!match) return null;
    [d, m, y] = [Number(match[1]), Number(match[2]), Number(match[3])];
  }
  const date = new Date(y, m - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== m - 1 || date.getDate() !== d) return null;
  return isoDay(date);
}

/** localDateTimeToRfc3339 converts the picker's "YYYY-MM-DD HH:mm:ss" (local time) to an RFC 3339 instant. */
export function localDateTimeToRfc3339(v: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(v);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
