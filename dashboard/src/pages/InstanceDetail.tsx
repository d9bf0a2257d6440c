import { useState } from 'react';
import { useAccess, useApi } from '../api/session';
import { useFloatingIps, usePorts, useRefresh, useServers } from '../api/queries';
import { errorMessage } from '../api/errors';
import type { Server } from '../api/types';
import { Button } from '../ui/controls';
import { ErrorText, Loading, Status } from '../ui/feedback';
import { Link, navigate, useTitle } from '../router';
import { Tabs } from '../ui/tabs';
import { actionBlocked, addressesOf, runAction, type ServerAction } from './instance/actions';
import { FloatingIpDialog } from './instance/FloatingIpDialog';
import { ConsoleLog } from './instance/ConsoleLog';
import { VncConsole } from './instance/VncConsole';
import { ExplainPanel } from './instance/ExplainPanel';

type Tab = 'overview' | 'log' | 'console' | 'explain';
const TABS: { id: Tab; label: string }[] = [
  { id: 'overview', label: 'Overview' },
  { id: 'log', label: 'Console log' },
  { id: 'console', label: 'Console' },
  { id: 'explain', label: 'Why can’t I reach it?' },
];

function Actions({ server }: { server: Server }) {
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const fips = useFloatingIps();
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [fipOpen, setFipOpen] = useState(false);
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const act = (a: ServerAction) => {
    let snapshotName: string | undefined;
    if (a === 'delete' && !window.confirm(`Delete instance ${server.name}? Its disk is deleted with it.`)) return;
    if (a === 'snapshot') {
      const n = window.prompt('Name of the snapshot image', `${server.name}-snapshot`);
      if (!n) return;
      snapshotName = n;
    }
    setBusy(a);
    setError(undefined);
    setNotice(undefined);
    runAction(api, server, a, snapshotName)
      .then(async () => {
        await refresh('servers', 'limits', 'images', 'ports', 'floatingips');
        if (a === 'delete') navigate('/instances');
        if (a === 'snapshot') setNotice(`Snapshot ${snapshotName ?? ''} is being saved: it appears on the Images page (saving, then active).`);
      })
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(undefined));
  };
  const ports = usePorts();
  // By port, not by the server's addresses: Nova lists addresses only once the instance's network is wired.
  const myPorts = new Set((ports.data ?? []).filter((p) => p.device_id === server.id).map((p) => p.id));
  const mine = (fips.data ?? []).filter((f) => f.port_id !== null && myPorts.has(f.port_id));
  const detach = (id: string) => {
    setBusy(`fip-${id}`);
    api
      .put('network', `/floatingips/${id}`, { floatingip: { port_id: null } })
      .then(() => refresh('floatingips', 'servers'))
      .catch((err: unknown) => setError(errorMessage(err)))
      .finally(() => setBusy(undefined));
  };
  const btn = (a: ServerAction, label: string) => (
    <Button variant={a === 'delete' ? 'danger' : 'plain'} busy={busy === a} disabledReason={whyNot ?? actionBlocked(a, server)} onClick={() => act(a)}>
      {label}
    </Button>
  );
  return (
    <>
      <div className="row-actions" role="group" aria-label="Instance actions">
        {btn('start', 'Start')}
        {btn('stop', 'Stop')}
        {btn('reboot', 'Reboot')}
        {btn('snapshot', 'Snapshot')}
        <Button disabledReason={whyNot} onClick={() => setFipOpen(true)}>
          Associate floating IP
        </Button>
        {mine.map((f) => (
          <Button key={f.id} busy={busy === `fip-${f.id}`} disabledReason={whyNot} onClick={() => detach(f.id)}>
            Disassociate {f.floating_ip_address}
          </Button>
        ))}
        {btn('delete', 'Delete')}
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <FloatingIpDialog server={server} open={fipOpen} onClose={() => setFipOpen(false)} />
    </>
  );
}

/** One instance: its facts and actions, console log, console, and the reachability check. */
export function InstanceDetail({ id }: { id: string }) {
  const servers = useServers();
  const server = servers.data?.find((s) => s.id === id);
  useTitle(server ? `Instance ${server.name}` : 'Instance');
  const [tab, setTab] = useState<Tab>('overview');

  if (servers.isPending) return <Loading what="the instance" />;
  if (servers.error) return <ErrorText error={servers.error} />;
  if (!server) {
    return (
      <section>
        <h1>Instance not found</h1>
        <p>
          It may have been deleted. Back to <Link to="/instances">instances</Link>.
        </p>
      </section>
    );
  }
  return (
    <section>
      <p className="crumbs">
        <Link to="/instances">Instances</Link> /
      </p>
      <div className="page-head">
        <h1>{server.name}</h1>
        <Status value={server.status} task={server['OS-EXT-STS:task_state']} />
      </div>
      <Actions server={server} />
      <Tabs label="Instance views" tabs={TABS} current={tab} onChange={setTab}>
        {tab === 'overview' ? (
          <dl className="facts">
            <dt>ID</dt>
            <dd>
              <code>{server.id}</code>
            </dd>
            <dt>Status</dt>
            <dd>{server.status}</dd>
            {server.fault ? (
              <>
                <dt>Fault</dt>
                <dd className="error">{server.fault.message}</dd>
              </>
            ) : null}
            <dt>Addresses</dt>
            <dd>{addressesOf(server).map((a) => `${a.addr} (${a.type}, ${a.network})`).join(', ') || '—'}</dd>
            <dt>Flavor</dt>
            <dd>{server.flavor.original_name ?? server.flavor.id ?? '—'}</dd>
            <dt>Key pair</dt>
            <dd>{server.key_name ?? '—'}</dd>
            <dt>Security groups</dt>
            <dd>{(server.security_groups ?? []).map((g) => g.name).join(', ') || '—'}</dd>
            <dt>Created</dt>
            <dd>{new Date(server.created).toLocaleString()}</dd>
          </dl>
        ) : null}
        {tab === 'log' ? <ConsoleLog server={server} /> : null}
        {tab === 'console' ? <VncConsole server={server} /> : null}
        {tab === 'explain' ? <ExplainPanel server={server} /> : null}
      </Tabs>
    </section>
  );
}
