import { describe, expect, it } from 'vitest';
import { formatDateTime, isoDay, localDateTimeToRfc3339, parseDayInput, refLabel, shortRef } from './format';

describe('parseDayInput', () => {
  it.each([
    ['2026-11-25', '2026-11-25'],
    ['2026-1-5', '2026-01-05'],
    ['25.11.2026', '2026-11-25'],
    ['25/11/2026', '2026-11-25'],
    ['5-1-2026', '2026-01-05'],
    [' 2026-02-28 ', '2026-02-28'],
  ])('%j → %s', (input, want) => {
    expect(parseDayInput(input)).toBe(want);
  });
  it.each(['', 'tomorrow', '2026-02-30', '31.04.2026', '2026/11/25', '11-25'])('%j → null', (input) => {
    expect(parseDayInput(input)).toBeNull();
  });
});

describe('localDateTimeToRfc3339', () => {
  it('reads the picker value as local time', () => {
    const got = localDateTimeToRfc3339('2026-11-25 14:30:00');
    expect(got).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const d = new Date(got!);
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2026, 10, 25, 14, 30]);
  });
  it('rejects anything else', () => {
    expect(localDateTimeToRfc3339('soon')).toBeNull();
  });
});

describe('formatting', () => {
  it('formats instants per locale', () => {
    const iso = '2026-11-25T12:00:00Z';
    expect(formatDateTime(iso, 'da-DK')).toMatch(/2026/);
    expect(formatDateTime(iso, 'da-DK')).not.toBe(formatDateTime(iso, 'en-GB'));
    expect(formatDateTime('not a date', 'en-GB')).toBe('not a date');
  });
  it('shortens references and formats days', () => {
    expect(shortRef('bbbbbbbb-0000-4000-8000-000000000001')).toBe('bbbbbbbb…');
    expect(refLabel('01a23ed7-0000-7000-8000-00000c5c2f10')).toBe('01a2…0c5c2f10');
    expect(refLabel('short')).toBe('short');
    expect(isoDay(new Date(2026, 0, 5))).toBe('2026-01-05');
  });
});
