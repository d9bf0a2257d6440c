import type { ReactNode } from 'react';

/** ARIA tabs: arrow keys move between tabs, Tab moves into the panel. */
export function Tabs<T extends string>({
  label,
  tabs,
  current,
  onChange,
  children,
}: {
  label: string;
  tabs: { id: T; label: string }[];
  current: T;
  onChange: (t: T) => void;
  children: ReactNode;
}) {
  return (
    <>
      <div role="tablist" aria-label={label} className="tabs">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={current === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={current === t.id ? 0 : -1}
            className="tab"
            onClick={() => onChange(t.id)}
            onKeyDown={(e) => {
              const i = tabs.findIndex((x) => x.id === current);
              const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
              const next = step ? tabs[(i + step + tabs.length) % tabs.length] : undefined;
              if (next) {
                onChange(next.id);
                document.getElementById(`tab-${next.id}`)?.focus();
              }
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${current}`} aria-labelledby={`tab-${current}`} className="tabpanel">
        {children}
      </div>
    </>
  );
}
