import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { useApi } from '../../api/session';
import { useKey } from '../../api/queries';
import type { Server } from '../../api/types';
import { Checkbox } from '../../ui/controls';
import { ErrorText, Loading } from '../../ui/feedback';

/** The serial console's last lines (os-getConsoleOutput), refreshed while watched. */
export function ConsoleLog({ server }: { server: Server }) {
  const api = useApi();
  const [follow, setFollow] = useState(true);
  const log = useQuery({
    queryKey: useKey('console-log', server.id),
    queryFn: async () =>
      (await api.post<{ output: string }>('compute', `/servers/${server.id}/action`, { 'os-getConsoleOutput': { length: 400 } })).output,
    refetchInterval: follow ? 3000 : false,
  });
  return (
    <section aria-labelledby="log-title">
      <div className="page-head">
        <h2 id="log-title">Console log</h2>
        <Checkbox label="Follow (refresh every 3 s)" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
      </div>
      {log.isPending ? <Loading what="the console log" /> : null}
      <ErrorText error={log.error} />
      {log.data !== undefined ? (
        <pre className="console-log" tabIndex={0} aria-label={`Console log of ${server.name}`}>
          {log.data || '(nothing yet: the instance has printed nothing)'}
        </pre>
      ) : null}
    </section>
  );
}
