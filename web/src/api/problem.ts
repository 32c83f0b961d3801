// RFC 9457 problem details, as every API error is returned (WireProblem in types.ts).
import type { WireProblem } from './types';

/** FieldError is one entry of a validation problem's `errors` list. */
export type FieldError = NonNullable<WireProblem['errors']>[number];

/**
 * Problem is a problem as the UI holds it: the documented fields, each optional, because it is
 * also built from bodies that are not problem+json (a proxy's 502, a network failure).
 */
export type Problem = Partial<WireProblem>;

/** ApiError is thrown for every failed API call; status 0 means the network failed. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  /** code is the problem's machine-readable code, or a fallback derived from the status. */
  get code(): string {
    return this.problem.code ?? (this.status === 0 ? 'network' : `http_${this.status}`);
  }

  /** fieldErrors returns the validation errors keyed by field name. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) {
      if (!(e.field in out)) out[e.field] = e.message;
    }
    return out;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** toProblem normalises any decoded body into a Problem, keeping only well-typed fields. */
export function toProblem(body: unknown, status: number, statusText = ''): Problem {
  const p: Problem = { status };
  if (isRecord(body)) {
    if (typeof body.type === 'string') p.type = body.type;
    if (typeof body.title === 'string') p.title = body.title;
    if (typeof body.detail === 'string') p.detail = body.detail;
    if (typeof body.code === 'string') p.code = body.code;
    if (typeof body.status === 'number') p.status = body.status;
    if (Array.isArray(body.errors)) {
      p.errors = body.errors.filter(isRecord).map((e) => ({
        field: typeof e.field === 'string' ? e.field : '',
        message: typeof e.message === 'string' ? e.message : '',
      }));
    }
  }
  if (!p.title) p.title = statusText || `HTTP ${status}`;
  return p;
}
