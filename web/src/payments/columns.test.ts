import { describe, expect, it } from 'vitest';
import { csvColumns, DEFAULT_SETTINGS, normalizeSettings, settingsKey } from './columns';

describe('table columns', () => {
  it('maps the shown columns to the export, in display order', () => {
    expect(csvColumns(['amount', 'date', 'reference'])).toBe('date,payment_ref_id,amount_minor,amount,currency');
  });
  it('keeps the reference, drops unknown columns and bad densities', () => {
    expect(normalizeSettings({ columns: ['status', 'bogus', 'date'], density: 'tiny' })).toEqual({
      columns: ['date', 'reference', 'status'],
      density: 'comfortable',
    });
    expect(normalizeSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(normalizeSettings({ columns: [], density: 'compact' })).toEqual({ columns: ['reference'], density: 'compact' });
  });
  it('is stored per user', () => {
    expect(settingsKey('u1')).not.toBe(settingsKey('u2'));
  });
});
