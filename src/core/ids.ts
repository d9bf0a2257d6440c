import { randomUUID } from 'node:crypto';

/** Keystone ids are 32 hex chars (a uuid4 without dashes). */
export function hexId(): string {
  return randomUUID().replaceAll('-', '');
}

/** Nova, Neutron and Glance ids are dashed uuid4s. */
export function uuid(): string {
  return randomUUID();
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** Keystone prints times with microseconds and a Z: 2026-11-26T17:00:00.000000Z */
export function keystoneTime(iso: string): string {
  return iso.replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Nova and Neutron print times without fraction: 2026-11-26T17:00:00Z */
export function secondsTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}
