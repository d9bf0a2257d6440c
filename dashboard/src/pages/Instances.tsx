import { useState } from 'react';
import { useAccess, useApi } from '../api/session';
import { useFlavors, useImages, useRefresh, useServers } from '../api/queries';
import type { Server } from '../api/types';
import { Button } from '../ui/controls';
import { Empty, ErrorText, Loading, Status } from '../ui/feedback';
import { Link, useTitle } from '../router';
import { LaunchDialog } from './instance/LaunchDialog';
import { actionBlocked, addressesOf, runAction, type ServerAction } from './instance/actions';
import { errorMessage } from '../api/errors';

function flavorName(s: Server, names: Map<string, string>): string {
  return s.flavor.original_name ?? (s.flavor.id ? (names.get(s.flavor.id) ?? s.flavor.id) : '—');
}

/** One row's quick actions; the instance page has them all. */
function RowActions({ server, onError }: { server: Server; onError: (m: string | undefined) => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const [busy, setBusy] = useState<ServerAction | undefined>(undefined);
  const act = (a: ServerAction) => {
    if (a === 'delete' && !window.confirm(`Delete instance ${server.name}? Its disk is deleted with it.`)) return;
    setBusy(a);
    onError(undefined);
    runAction(api, server, a)
      .then(() => refresh('servers', 'limits', 'ports', 'floatingips'))
      .catch((err: unknown) => onError(`${server.name}: ${errorMessage(err)}`))
      .finally(() => setBusy(undefined));
  };
  const btn = (a: ServerAction, label: string) => (
    <Button
      key={a}
      variant={a === 'delete' ? 'danger' : 'plain'}
      busy={busy === a}
      disabledReason={whyNot ?? actionBlocked(a, server)}
      onClick={() => act(a)}
      aria-label={`${label} ${server.name}`}
    >
      {label}
    </Button>
  );
  return <div className="row-actions">{[btn('start', 'Start'), btn('stop', 'Stop'), btn('reboot', 'Reboot'), btn('delete', 'Delete')]}</div>;
}

/** The project's instances, their status kept live by polling (faster while any is changing). */
export function Instances() {
  useTitle('Instances');
  const api = useApi();
  const servers = useServers();
  const flavors = useFlavors();
  const images = useImages();
  const { whyNot } = useAccess();
  const [launching, setLaunching] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>(undefined);

  if (!api.has('compute')) {
    return (
      <section>
        <h1>Instances</h1>
        <p>This cloud has no compute service in its catalog yet.</p>
      </section>
    );
  }
  const flavorNames = new Map((flavors.data ?? []).map((f) => [f.id, f.name]));
  const imageNames = new Map((images.data ?? []).map((i) => [i.id, i.name ?? i.id]));

  return (
    <section>
      <div className="page-head">
        <h1>Instances</h1>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setLaunching(true)}>
          Launch instance
        </Button>
      </div>
      {actionError ? (
        <p className="error" role="alert">
          {actionError}
        </p>
      ) : null}
      {servers.isPending ? <Loading what="instances" /> : null}
      <ErrorText error={servers.error} />
      {servers.data && servers.data.length === 0 ? (
        <Empty title="No instances yet.">
          <p>Launch one: the defaults give a small VM on the private network with your key.</p>
        </Empty>
      ) : null}
      {servers.data && servers.data.length > 0 ? (
        <table className="table">
          <caption className="sr-only">Instances of this project</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Addresses</th>
              <th scope="col">Flavor</th>
              <th scope="col">Image</th>
              <th scope="col">Key</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {servers.data.map((s) => (
              <tr key={s.id} data-server={s.name}>
                <td>
                  <Link to={`/instances/${s.id}`}>{s.name}</Link>
                </td>
                <td>
                  <Status value={s.status} task={s['OS-EXT-STS:task_state']} />
                  {s.fault ? <div className="error small">{s.fault.message}</div> : null}
                </td>
                <td>
                  {addressesOf(s).map((a) => (
                    <div key={a.addr}>
                      {a.addr} <span className="muted small">{a.type === 'floating' ? 'floating' : a.network}</span>
                    </div>
                  ))}
                </td>
                <td>{flavorName(s, flavorNames)}</td>
                <td>{s.image ? (imageNames.get(s.image.id) ?? s.image.id) : '—'}</td>
                <td>{s.key_name ?? '—'}</td>
                <td>
                  <RowActions server={s} onError={setActionError} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <LaunchDialog open={launching} onClose={() => setLaunching(false)} />
    </section>
  );
}
