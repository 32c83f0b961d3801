import { minorDigits, parseAmount, type ParseAmountError } from '../money/money';

/** RefundAmountError says why a typed refund amount was rejected. */
export type RefundAmountError = ParseAmountError | 'exceeds_remaining';

/** RefundAmountResult is the outcome of parseRefundAmount. */
export type RefundAmountResult = { ok: true; minor: number } | { ok: false; error: RefundAmountError; digits: number };

/**
 * parseRefundAmount turns a typed amount in major units ("12,50", "1.000", "1500" JPY) into integer
 * minor units of the payment's currency, exactly (string arithmetic, never a float), and rejects
 * anything that is not a positive amount the currency can express or that exceeds what remains.
 */
export function parseRefundAmount(input: string, currency: string, remainingMinor: number): RefundAmountResult {
  const digits = minorDigits(currency);
  const r = parseAmount(input, currency);
  if (!r.ok) return { ok: false, error: r.error, digits };
  if (r.minor > remainingMinor) return { ok: false, error: 'exceeds_remaining', digits };
  return r;
}
