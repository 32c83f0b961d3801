import { describe, expect, it } from 'vitest';
import { parseRefundAmount } from './refund';

describe('parseRefundAmount', () => {
  it.each([
    // input, currency, remaining minor units, want minor units
    ['12,50', 'DKK', 10_000, 1250],
    ['1.234,56', 'DKK', 123_456, 123_456],
    ['100', 'DKK', 10_000, 10_000],
    ['0,01', 'DKK', 10_000, 1],
    ['19.99', 'EUR', 5_000, 1999],
    ['1,234.5', 'EUR', 200_000, 123_450],
    ['1500', 'JPY', 1500, 1500],
    ['1,500', 'JPY', 2000, 1500],
    ['1.234', 'KWD', 5000, 1234],
    ['0.001', 'KWD', 5000, 1],
    ['2', 'KWD', 5000, 2000],
    // 0.1 + 0.2 is not 0.3 in floats; in minor units it is exactly 30.
    ['0.30', 'EUR', 100, 30],
    // The largest amount there is, to the cent.
    ['9.999.999.999.999,99', 'DKK', 999_999_999_999_999, 999_999_999_999_999],
  ] as const)('%s %s (remaining %i) is %i minor units', (input, currency, remaining, want) => {
    expect(parseRefundAmount(input, currency, remaining)).toEqual({ ok: true, minor: want });
  });

  it.each([
    ['100,01', 'DKK', 10_000, 'exceeds_remaining'],
    ['51', 'EUR', 5_000, 'exceeds_remaining'],
    ['1501', 'JPY', 1500, 'exceeds_remaining'],
    ['5.001', 'KWD', 5000, 'exceeds_remaining'],
    ['12,345', 'DKK', 1_000_000, 'exceeds_remaining'], // "12.345" groups thousands: 12,345 kr
    ['1,5', 'JPY', 1500, 'precision'],
    ['0.0001', 'KWD', 5000, 'precision'],
    ['1.999', 'EUR', 5000, 'exceeds_remaining'], // three digits after the mark group thousands in EUR
    ['0,00', 'DKK', 5000, 'not_positive'],
    ['', 'DKK', 5000, 'empty'],
    ['   ', 'EUR', 5000, 'empty'],
    ['abc', 'EUR', 5000, 'invalid'],
    ['12,5,0', 'DKK', 5000, 'invalid'],
    ['1e3', 'EUR', 500_000, 'invalid'],
    ['-5', 'EUR', 5000, 'not_positive'],
    ['0', 'EUR', 5000, 'not_positive'],
  ] as const)('%s %s (remaining %i) is rejected: %s', (input, currency, remaining, error) => {
    const r = parseRefundAmount(input, currency, remaining);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe(error);
  });

  it('reports the currency digits with an error, for the message', () => {
    expect(parseRefundAmount('1,5', 'JPY', 100)).toEqual({ ok: false, error: 'precision', digits: 0 });
    expect(parseRefundAmount('0.0001', 'KWD', 100)).toEqual({ ok: false, error: 'precision', digits: 3 });
  });
});
