import { badRequest, conflict } from '../../core/errors.js';

/** Keystone accepts true/false/1/0 (any case) for boolean filters. */
export function queryBool(v: unknown): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes') return true;
  if (s === 'false' || s === '0' || s === 'no') return false;
  throw badRequest(`Expected a boolean, got "${String(v)}" (use true or false).`);
}

export function queryString(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

/** SQLite's UNIQUE violations become the 409 Keystone answers for duplicates. */
export async function uniquely<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) {
      throw conflict(`Conflict occurred attempting to store ${what}: one with that name already exists here. Choose another name.`);
    }
    throw err;
  }
}

export const boolInt = (b: boolean | undefined, dflt: boolean): number => ((b ?? dflt) ? 1 : 0);
