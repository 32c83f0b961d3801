import { describe, expect, it } from 'vitest';
import { dateWarning } from './dateWarning';
import { isoDay } from './format';

// The picker's value: local wall-clock time.
function local(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${isoDay(d)} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const HOUR = 60 * 60 * 1000;
const now = new Date(2026, 11, 4, 14, 30, 0);

describe('dateWarning', () => {
  it('says nothing without a date or with an unreadable one', () => {
    expect(dateWarning(null, now)).toBeNull();
    expect(dateWarning('', now)).toBeNull();
    expect(dateWarning('not a date', now)).toBeNull();
  });

  it('says nothing for now, earlier today or within the last day', () => {
    expect(dateWarning(local(now), now)).toBeNull();
    expect(dateWarning(local(new Date(now.getTime() - 3 * HOUR)), now)).toBeNull();
    expect(dateWarning(local(new Date(now.getTime() - 23 * HOUR)), now)).toBeNull();
    expect(dateWarning(local(new Date(now.getTime() + 2 * 60 * 1000)), now)).toBeNull();
  });

  it('warns about a date more than a day in the past', () => {
    const w = dateWarning(local(new Date(now.getTime() - 25 * HOUR)), now);
    expect(w?.kind).toBe('past');
    expect(dateWarning('2025-01-01 09:00:00', now)?.kind).toBe('past');
  });

  it('warns about a date in the future, near or far', () => {
    const soon = new Date(now.getTime() + 2 * HOUR);
    expect(dateWarning(local(soon), now)).toEqual({ kind: 'future', iso: soon.toISOString().replace(/\.\d{3}Z$/, 'Z') });
    expect(dateWarning('2027-12-04 14:30:00', now)?.kind).toBe('future');
  });
});
