import { afterEach, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { ApiError } from '../api/problem';
import { describeError, fieldErrors } from './describeError';

const dateInFuture = new ApiError(422, {
  type: 'about:blank',
  title: 'Unprocessable Entity',
  status: 422,
  code: 'date_in_future',
  detail: 'date: must not be more than 24h0m0s in the future; nothing was written.',
  errors: [{ field: 'date', message: 'must not be more than 24h0m0s in the future' }],
});

afterEach(async () => {
  await i18n.changeLanguage('en');
});

describe('describeError and fieldErrors for 422 date_in_future', () => {
  it('puts a translated message on the date field', async () => {
    await i18n.changeLanguage('en');
    expect(fieldErrors(dateInFuture, i18n.t)).toEqual({
      date: 'The date is too far in the future: a payment can be dated at most 24 hours ahead.',
    });
    await i18n.changeLanguage('da');
    expect(fieldErrors(dateInFuture, i18n.t).date).toBe('Datoen ligger for langt ude i fremtiden: en betaling kan højst dateres 24 timer frem.');
  });

  it('explains the problem in words instead of the server detail', async () => {
    await i18n.changeLanguage('en');
    const d = describeError(dateInFuture, i18n.t);
    expect(d.message).toBe('The payment date is too far in the future. Choose a date at most 24 hours ahead, or leave it empty for now.');
    expect(d.fields).toEqual([{ field: 'date', message: 'The date is too far in the future: a payment can be dated at most 24 hours ahead.' }]);
  });

  it('keeps the server message for other field errors', () => {
    const other = new ApiError(400, { title: 'Bad Request', status: 400, code: 'invalid', errors: [{ field: 'third_party', message: 'is blocked' }] });
    expect(fieldErrors(other, i18n.t)).toEqual({ third_party: 'is blocked' });
    expect(describeError(other, i18n.t).fields).toEqual([{ field: 'third_party', message: 'is blocked' }]);
  });
});
