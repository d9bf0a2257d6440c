import type { ReactNode } from 'react';
import { errorMessage } from '../api/errors';

/** An API error shown where the action was (role=alert so it is read out). */
export function ErrorText({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p className="error" role="alert">
      {errorMessage(error)}
    </p>
  );
}

/** What to do when a list is empty. */
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-next">{children}</div> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

const TONE: Record<string, string> = {
  ACTIVE: 'ok',
  active: 'ok',
  UP: 'ok',
  DOWN: 'muted',
  SHUTOFF: 'muted',
  BUILD: 'busy',
  REBOOT: 'busy',
  HARD_REBOOT: 'busy',
  saving: 'busy',
  queued: 'busy',
  importing: 'busy',
  ERROR: 'bad',
  killed: 'bad',
  PAUSED: 'muted',
  SUSPENDED: 'muted',
};

/** A status word with a colour that matches what it means. */
export function Status({ value, task }: { value: string; task?: string | null | undefined }) {
  const tone = TONE[value] ?? 'muted';
  return (
    <span className={`status status-${tone}`}>
      {tone === 'busy' ? <span className="spinner" aria-hidden="true" /> : null}
      {value}
      {task ? <span className="task"> ({task})</span> : null}
    </span>
  );
}

/** Used of limit as a bar; -1 means unlimited. */
export function QuotaBar({ label, used, limit, unit }: { label: string; used: number; limit: number; unit?: string }) {
  const unlimited = limit < 0;
  const pct = unlimited || limit === 0 ? (used > 0 && !unlimited ? 100 : 0) : Math.min(100, Math.round((used / limit) * 100));
  const fmt = (n: number) => `${n.toLocaleString()}${unit ? ` ${unit}` : ''}`;
  const text = unlimited ? `${fmt(used)} used, no limit` : `${fmt(used)} of ${fmt(limit)} used`;
  const tone = pct >= 90 ? 'bad' : pct >= 70 ? 'warn' : 'ok';
  return (
    <div className="quota">
      <div className="quota-head">
        <span className="quota-label">{label}</span>
        <span className="quota-text">{text}</span>
      </div>
      <div
        className="quota-track"
        role="progressbar"
        aria-label={`${label}: ${text}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <div className={`quota-fill quota-${tone}`} style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}

/** Progress of a long operation, 0..1 or undefined while unknown. */
export function ProgressBar({ label, value }: { label: string; value: number | undefined }) {
  return (
    <div className="progress">
      <label>
        {label}
        {value !== undefined ? ` ${Math.round(value * 100)}%` : ''}
        <progress max={1} value={value} />
      </label>
    </div>
  );
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${units[i] ?? 'B'}`;
}
