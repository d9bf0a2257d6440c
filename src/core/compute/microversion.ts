import { CloudError } from '../errors.js';

/**
 * Nova's microversions: "2.N" requested per call in `OpenStack-API-Version:
 * compute 2.N` or the legacy `X-OpenStack-Nova-API-Version: 2.N`; absent
 * means the minimum, `latest` the maximum. Every response shape change up to
 * MAX is implemented; asking for more is a 406, a malformed string a 400.
 */

/** A parsed microversion; compare with `atLeast`. */
export interface Microversion {
  major: number;
  minor: number;
}

export const MIN_MICROVERSION: Microversion = { major: 2, minor: 1 };
/** The highest microversion whose every response shape change Stacklet implements (Train's maximum). */
export const MAX_MICROVERSION: Microversion = { major: 2, minor: 79 };

export const versionString = (v: Microversion): string => `${v.major}.${v.minor}`;

/** Total order: negative, zero or positive as a is below, equal to or above b. */
export function compareVersions(a: Microversion, b: Microversion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** True when `v` is at least "2.N" (given as the minor number, the major being 2). */
export function atLeast(v: Microversion, minor: number): boolean {
  return v.major > 2 || (v.major === 2 && v.minor >= minor);
}

/** Parses "X.Y" as Nova does: no leading zeros, minor may be 0. */
export function parseVersionString(s: string): Microversion | undefined {
  const m = /^([1-9]\d{0,3})\.([1-9]\d{0,3}|0)$/.exec(s);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

type HeaderValue = string | string[] | undefined;

/**
 * Picks the compute version out of `OpenStack-API-Version` (a comma-separated
 * list of "service version" pairs; several headers are joined) and falls
 * back to the legacy header, as microversion-parse does.
 */
export function requestedVersion(modern: HeaderValue, legacy: HeaderValue): string | undefined {
  const joined = (h: HeaderValue) => (Array.isArray(h) ? h.join(',') : h);
  const m = joined(modern);
  if (m !== undefined) {
    for (const part of m.split(',')) {
      const [service, version, ...rest] = part.trim().split(/\s+/);
      if (service?.toLowerCase() === 'compute' && version !== undefined && rest.length === 0) return version;
    }
  }
  const l = joined(legacy);
  if (l !== undefined) {
    const v = l.split(',')[0]?.trim();
    if (v) return v;
  }
  return undefined;
}

/**
 * The version a request asked for, or the error Nova answers: 400 for a
 * malformed string, 406 (computeFault) for one outside MIN..MAX.
 */
export function negotiate(modern: HeaderValue, legacy: HeaderValue): Microversion {
  const asked = requestedVersion(modern, legacy);
  if (asked === undefined) return MIN_MICROVERSION;
  if (asked.toLowerCase() === 'latest') return MAX_MICROVERSION;
  const v = parseVersionString(asked);
  if (!v) {
    throw new CloudError('BadRequest', `API Version String ${asked} is of invalid format. Must be of format MajorNum.MinorNum.`);
  }
  if (compareVersions(v, MIN_MICROVERSION) < 0 || compareVersions(v, MAX_MICROVERSION) > 0) {
    throw new CloudError(
      'NotAcceptable',
      `Version ${versionString(v)} is not supported by the API. Minimum is ${versionString(MIN_MICROVERSION)} and maximum is ${versionString(MAX_MICROVERSION)}.`,
      { type: 'computeFault' },
    );
  }
  return v;
}
