import { useState, type FormEvent } from 'react';
import { useApi } from '../../api/session';
import { useServers } from '../../api/queries';
import type { Explanation, Server } from '../../api/types';
import { Button, Select, TextInput } from '../../ui/controls';
import { useSubmit } from '../../ui/form';

/**
 * "Why can't I reach it?": asks Stacklet to walk the path a packet takes
 * (floating IP, router, subnet, security groups, instance state) and shows
 * the first thing that blocks it, with the command that fixes it.
 */
export function ExplainPanel({ server }: { server: Server }) {
  const api = useApi();
  const servers = useServers();
  const [from, setFrom] = useState('host');
  const [protocol, setProtocol] = useState('tcp');
  const [port, setPort] = useState('22');
  const [result, setResult] = useState<Explanation | undefined>(undefined);
  const s = useSubmit({ port: ['port'], from: ['source', 'from'] });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setResult(undefined);
    void s.run(async () => {
      const query: Record<string, string> = { server: server.id, from, protocol };
      if (protocol !== 'icmp') query['port'] = port;
      setResult(await api.get<Explanation>('stacklet', '/explain', query));
    });
  };

  const others = (servers.data ?? []).filter((x) => x.id !== server.id);
  return (
    <section aria-labelledby="explain-title">
      <h2 id="explain-title">Why can’t I reach it?</h2>
      <form onSubmit={submit} className="inline-form">
        <Select
          label="From"
          value={from}
          onChange={(e) => setFrom(e.target.value)}
          options={[{ value: 'host', label: 'The host (through a floating IP)' }, ...others.map((o) => ({ value: o.id, label: `Instance ${o.name}` }))]}
          error={s.errorFor('from')}
        />
        <Select
          label="Protocol"
          value={protocol}
          onChange={(e) => setProtocol(e.target.value)}
          options={[
            { value: 'tcp', label: 'TCP' },
            { value: 'udp', label: 'UDP' },
            { value: 'icmp', label: 'ICMP (ping)' },
          ]}
        />
        {protocol !== 'icmp' ? (
          <TextInput label="Port" inputMode="numeric" value={port} onChange={(e) => setPort(e.target.value)} error={s.errorFor('port')} />
        ) : null}
        <Button type="submit" variant="primary" busy={s.pending}>
          Check
        </Button>
      </form>
      {s.formError ? (
        <p className="error" role="alert">
          {s.formError}
        </p>
      ) : null}
      {result ? (
        <div className="explain" role="status">
          <p className={result.reachable ? 'verdict verdict-ok' : 'verdict verdict-bad'}>{result.reachable ? 'Reachable' : 'Not reachable'}</p>
          <ol className="steps">
            {result.steps.map((st) => (
              <li key={st.check} className={st.ok ? 'step-ok' : 'step-bad'}>
                <span aria-hidden="true">{st.ok ? '✓' : '✗'}</span> <strong>{st.check}</strong>: {st.detail}
              </li>
            ))}
          </ol>
          {result.blocker ? (
            <div className="blocker">
              <p>{result.blocker.message}</p>
              <p>
                Fix: <code>{result.blocker.fix}</code>
              </p>
            </div>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
