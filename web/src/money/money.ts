// Money is handled as integer minor units end to end. Nothing here converts an amount
// through a float: formatting feeds Intl an exact decimal string, parsing uses string
// arithmetic.

/** The largest amount a single payment may have, in minor units (SPEC §2). */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000_000n;

const digitsCache = new Map<string, number>();

/** minorDigits returns the number of minor-unit digits of an ISO 4217 currency (JPY 0, DKK 2, KWD 3). */
export function minorDigits(currency: string): number {
  const code = currency.toUpperCase();
  const cached = digitsCache.get(code);
  if (cached !== undefined) return cached;
  let digits = 2;
  try {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions()
        .maximumFractionDigits ?? 2;
  } catch {
    // Unknown code: keep the common default rather than failing the whole table.
  }
  digitsCache.set(code, digits);
  return digits;
}

/** minorToDecimalString renders integer minor units as an exact decimal string ("123456", 2 → "1234.56"). */
export function minorToDecimalString(amount: number | bigint | string, digits: number): string {
  let value = BigInt(amount);
  const negative = value < 0n;
  if (negative) value = -value;
  let s = value.toString();
  if (digits > 0) {
    s = s.padStart(digits + 1, '0');
    s = `${s.slice(0, -digits)}.${s.slice(-digits)}`;
  }
  return negative ? `-${s}` : s;
}

type NumericString = `${number}`;

/** formatMoney formats integer minor units of a currency for a locale, e.g. 123456 DKK → "1.234,56 kr.". */
export function formatMoney(amount: number | bigint, currency: string, locale: string): string {
  const digits = minorDigits(currency);
  const decimal = minorToDecimalString(amount, digits) as NumericString;
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: currency.toUpperCase(),
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(decimal);
  } catch {
    return `${decimal} ${currency}`;
  }
}

/** formatMajorInput renders minor units as a plain decimal for an input field, using the locale's decimal mark. */
export function formatMajorInput(amount: number | bigint, currency: string | null, locale: string): string {
  const digits = currency ? minorDigits(currency) : 2;
  const s = minorToDecimalString(amount, digits);
  return s.replace('.', decimalSeparator(locale));
}

/** decimalSeparator returns the locale's decimal mark ("." for en, "," for da). */
export function decimalSeparator(locale: string): string {
  const part = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === 'decimal');
  return part?.value ?? '.';
}

/** ParseAmountError says why a typed amount was rejected. */
export type ParseAmountError = 'empty' | 'invalid' | 'precision' | 'not_positive' | 'too_large';

/** ParseAmountResult is the outcome of parseAmount. */
export type ParseAmountResult = { ok: true; minor: number } | { ok: false; error: ParseAmountError };

/**
 * parseAmount turns what a person typed ("1.234,56", "1,234.56", "12.5", "1 000") into integer
 * minor units of the currency, without floats. The last "." or "," is the decimal mark unless it is
 * followed by exactly three digits in a currency with fewer minor digits, in which case it groups
 * thousands ("1.000" DKK is one thousand). More decimals than the currency has are rejected, never rounded.
 */
export function parseAmount(input: string, currency: string): ParseAmountResult {
  const digits = minorDigits(currency);
  // Drop spaces (incl. no-break and narrow no-break), apostrophes and underscores used as group marks.
  const s = input.trim().replace(/[\s\u00a0\u202f'’_]/g, '');
  if (s === '') return { ok: false, error: 'empty' };
  if (s.startsWith('-')) return { ok: false, error: 'not_positive' };
  const cleaned = s.startsWith('+') ? s.slice(1) : s;
  if (!/^[0-9.,]+$/.test(cleaned) || !/[0-9]/.test(cleaned)) return { ok: false, error: 'invalid' };

  const lastDot = cleaned.lastIndexOf('.');
  const lastComma = cleaned.lastIndexOf(',');
  let intPart = cleaned;
  let fracPart = '';
  const sepIndex = Math.max(lastDot, lastComma);
  if (sepIndex >= 0) {
    const sep = cleaned.charAt(sepIndex);
    const other = sep === '.' ? ',' : '.';
    const occurrences = cleaned.split(sep).length - 1;
    const after = cleaned.slice(sepIndex + 1);
    const before = cleaned.slice(0, sepIndex);
    const bothKinds = cleaned.includes(other);
    let isDecimal: boolean;
    if (bothKinds) {
      // "1.234,56" / "1,234.56": the last mark is the decimal one and must appear once.
      if (occurrences > 1) return { ok: false, error: 'invalid' };
      isDecimal = true;
    } else if (occurrences > 1) {
      isDecimal = false; // "1.000.000"
    } else {
      isDecimal = !(after.length === 3 && digits < 3);
    }
    if (isDecimal) {
      intPart = before;
      fracPart = after;
      if (!validGrouping(intPart, other)) return { ok: false, error: 'invalid' };
    } else {
      if (!validGrouping(cleaned, sep)) return { ok: false, error: 'invalid' };
      intPart = cleaned;
    }
    intPart = intPart.split(',').join('').split('.').join('');
  }
  if (intPart === '') intPart = '0';
  if (!/^[0-9]+$/.test(intPart) || !/^[0-9]*$/.test(fracPart)) return { ok: false, error: 'invalid' };
  if (fracPart.length > digits) {
    // Trailing zeros beyond the currency's precision are harmless ("10.500" EUR).
    const trimmed = fracPart.replace(/0+$/, '');
    if (trimmed.length > digits) return { ok: false, error: 'precision' };
    fracPart = trimmed;
  }
  const minor = BigInt(intPart + fracPart.padEnd(digits, '0'));
  if (minor <= 0n) return { ok: false, error: 'not_positive' };
  if (minor > MAX_AMOUNT_MINOR) return { ok: false, error: 'too_large' };
  return { ok: true, minor: Number(minor) };
}

// validGrouping checks that group marks, if any, split the integer into 1-3 digits then groups of 3.
function validGrouping(s: string, mark: string): boolean {
  if (!s.includes(mark)) return true;
  const groups = s.split(mark);
  return groups.every((g, i) => (i === 0 ? /^[0-9]{1,3}$/.test(g) : /^[0-9]{3}$/.test(g)));
}

let currencyList: string[] | null = null;

/** COMMON_CURRENCIES are offered first in pickers; the rest follow alphabetically. */
export const COMMON_CURRENCIES = ['DKK', 'EUR', 'USD', 'GBP', 'SEK', 'NOK', 'CHF', 'JPY'];

/** allCurrencies lists every ISO 4217 code the browser knows, common ones first. */
export function allCurrencies(): string[] {
  if (currencyList) return currencyList;
  let codes: string[] = [];
  try {
    codes = Intl.supportedValuesOf('currency');
  } catch {
    codes = []; // older engines: the common list only
  }
  const rest = codes.filter((c) => !COMMON_CURRENCIES.includes(c)).sort();
  currencyList = [...COMMON_CURRENCIES, ...rest];
  return currencyList;
}

/** currencyName returns the localized name of a currency ("Danish Krone", "dansk krone"). */
export function currencyName(code: string, locale: string): string {
  try {
    return new Intl.DisplayNames([locale], { type: 'currency' }).of(code) ?? code;
  } catch {
    return code;
  }
}
