import type { TFunction } from 'i18next';
import { ApiError } from '../api/problem';

/** Described is an error in words a person can act on. */
export interface Described {
  title: string;
  message: string;
  fields: { field: string; message: string }[];
}

/** describeError turns any thrown value (usually an ApiError with a problem+json body) into words. */
export function describeError(err: unknown, t: TFunction): Described {
  if (err instanceof ApiError) {
    const p = err.problem;
    const fields = (p.errors ?? []).filter((e) => e.message).map((e) => ({ field: e.field, message: fieldMessage(err, e.field, e.message, t) }));
    let message = p.detail ?? '';
    switch (true) {
      case err.status === 0:
        return { title: t('errors.generic'), message: t('errors.network'), fields: [] };
      case err.code === 'idempotency_key_reused':
        message = t('errors.idempotencyReused');
        break;
      case err.code === 'date_in_future':
        message = t('errors.dateInFuture');
        break;
      case err.code === 'not_cancelable':
        message = t('errors.notCancelable');
        break;
      case err.code === 'not_retryable':
        message = t('errors.notRetryable');
        break;
      case err.code === 'not_refundable':
        message = t('errors.notRefundable');
        break;
      case err.code === 'insufficient_scope':
        message = t('errors.insufficientScope');
        break;
      case err.code === 'refund_exceeds_amount':
        message = t('errors.refundExceedsAmount');
        break;
      case err.status === 429:
        message = message || t('errors.tooManyRequests');
        break;
      case err.status === 503 || err.status === 502 || err.status === 504:
        message = message || t('errors.unavailable');
        break;
      case err.status === 404:
        message = message || t('errors.notFound');
        break;
      case err.status === 409:
        message = message || t('errors.conflict');
        break;
    }
    return { title: p.title ?? t('errors.generic'), message, fields };
  }
  return { title: t('errors.generic'), message: err instanceof Error ? err.message : String(err), fields: [] };
}

/**
 * fieldMessage is the words for one field error: a translation where the problem's code says what
 * went wrong, otherwise the server's own message.
 */
function fieldMessage(err: ApiError, field: string, message: string, t: TFunction): string {
  if (err.code === 'date_in_future' && field === 'date') return t('createPayment.errors.dateInFuture');
  return message;
}

/** fieldErrors returns an ApiError's field errors keyed by field name, translated where known, for a form to show on its fields. */
export function fieldErrors(err: ApiError, t: TFunction): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(err.fieldErrors())) out[field] = fieldMessage(err, field, message, t);
  return out;
}
