import { describe, expect, it } from 'vitest';
import { allCurrencies, formatMajorInput, formatMoney, minorDigits, minorToDecimalString, parseAmount } from './money';

describe('minorDigits', () => {
  it.each([
    ['DKK', 2],
    ['EUR', 2],
    ['JPY', 0],
    ['KWD', 3],
    ['usd', 2],
  ])('%s has %i digits', (code, want) => {
    expect(minorDigits(code)).toBe(want);
  });
});

describe('minorToDecimalString', () => {
  it.each([
    [123456, 2, '1234.56'],
    [5, 2, '0.05'],
    [0, 2, '0.00'],
    [1500, 0, '1500'],
    [1, 3, '0.001'],
    [-250, 2, '-2.50'],
    ['1000000000000000', 2, '10000000000000.00'],
  ] as const)('%s with %i digits is %s', (amount, digits, want) => {
    expect(minorToDecimalString(amount, digits)).toBe(want);
  });
});

describe('formatMoney', () => {
  it('formats DKK in Danish', () => {
    expect(formatMoney(123456, 'DKK', 'da-DK')).toMatch(/^1\.234,56\s?kr\.$/);
  });
  it('formats EUR in English', () => {
    expect(formatMoney(123456, 'EUR', 'en-GB')).toBe('€1,234.56');
  });
  it('formats JPY without decimals', () => {
    expect(formatMoney(1500, 'JPY', 'en-GB')).toBe('JP¥1,500');
  });
  it('formats three-decimal currencies', () => {
    expect(formatMoney(1234, 'KWD', 'en-GB')).toBe('KWD\u00a01.234');
  });
  it('keeps large amounts exact', () => {
    // 10^15 minor units: a float division would still be exact here, but 2^53+1 would not.
    expect(formatMoney(999_999_999_999_999, 'USD', 'en-US')).toBe('$9,999,999,999,999.99');
  });
});

describe('formatMajorInput', () => {
  it('uses the locale decimal mark', () => {
    expect(formatMajorInput(1050n, 'DKK', 'da-DK')).toBe('10,50');
    expect(formatMajorInput(1050n, 'EUR', 'en-GB')).toBe('10.50');
    expect(formatMajorInput(1050n, 'JPY', 'en-GB')).toBe('1050');
  });
});

describe('parseAmount', () => {
  it.each([
    ['12.50', 'EUR', 1250],
    ['12,50', 'DKK', 1250],
    ['12.5', 'EUR', 1250],
    ['12', 'EUR', 1200],
    ['0.01', 'EUR', 1],
    ['.5', 'EUR', 50],
    ['1.234,56', 'DKK', 123456],
    ['1,234.56', 'USD', 123456],
    ['1 234,56', 'DKK', 123456],
    ['1\u00a0234,56', 'DKK', 123456],
    ["1'234.56", 'CHF', 123456],
    ['1.000', 'DKK', 100000],
    ['1,000,000', 'USD', 100000000],
    ['1.000.000,5', 'EUR', 100000050],
    ['1500', 'JPY', 1500],
    ['1,500', 'JPY', 1500],
    ['1.234', 'KWD', 1234],
    ['10.5000', 'EUR', 1050],
    ['10.500', 'EUR', 1050000],
    ['+7', 'SEK', 700],
    ['10000000000000', 'EUR', 1_000_000_000_000_000],
  ] as const)('%s %s → %i', (input, cur, want) => {
    expect(parseAmount(input, cur)).toEqual({ ok: true, minor: want });
  });

  it.each([
    ['', 'EUR', 'empty'],
    ['   ', 'EUR', 'empty'],
    ['abc', 'EUR', 'invalid'],
    ['1e5', 'EUR', 'invalid'],
    ['1.2.3,4,5', 'EUR', 'invalid'],
    ['12,34.56,7', 'EUR', 'invalid'],
    ['1,23,456', 'EUR', 'invalid'],
    ['-5', 'EUR', 'not_positive'],
    ['0', 'EUR', 'not_positive'],
    ['0,00', 'DKK', 'not_positive'],
    ['1.234', 'EUR', 'ok'],
    ['1.2345', 'EUR', 'precision'],
    ['1.5', 'JPY', 'precision'],
    ['10000000000000.01', 'EUR', 'too_large'],
  ] as const)('%j %s → %s', (input, cur, want) => {
    const r = parseAmount(input, cur);
    if (want === 'ok') expect(r.ok).toBe(true);
    else expect(r).toEqual({ ok: false, error: want });
  });

  it('never goes through floats', () => {
    // 0.1 + 0.2 style errors would show up as 29 or 31 here.
    expect(parseAmount('0.30', 'EUR')).toEqual({ ok: true, minor: 30 });
    expect(parseAmount('1234567890123.45', 'EUR')).toEqual({ ok: true, minor: 123456789012345 });
  });
});

describe('allCurrencies', () => {
  it('lists every ISO currency with the common ones first', () => {
    const all = allCurrencies();
    expect(all.slice(0, 8)).toEqual(['DKK', 'EUR', 'USD', 'GBP', 'SEK', 'NOK', 'CHF', 'JPY']);
    expect(all.length).toBeGreaterThan(100);
    expect(all).toContain('ISK');
    expect(new Set(all).size).toBe(all.length);
  });
});
