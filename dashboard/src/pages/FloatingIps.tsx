import { useEffect, useState, type FormEvent } from 'react';
import { useAccess, useApi } from '../api/session';
import { useFloatingIps, useNetworks, usePorts, useRefresh, useServers } from '../api/queries';
import type { FloatingIp } from '../api/types';
import { errorMessage } from '../api/errors';
import { Button, Select } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { Empty, ErrorText, Loading, Status } from '../ui/feedback';
import { useSubmit } from '../ui/form';
import { useTitle } from '../router';

function AllocateDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const networks = useNetworks();
  const externals = (networks.data ?? []).filter((n) => n['router:external']);
  const [net, setNet] = useState('');
  const s = useSubmit({ net: ['network', 'no more', 'quota', 'exceed'] });
  useEffect(() => {
    if (!net && externals[0]) setNet(externals[0].id);
  }, [net, externals]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s
      .run(async () => {
        await api.post('network', '/floatingips', { floatingip: { floating_network_id: net } });
        await refresh('floatingips', 'network-quota');
      })
      .then((ok) => ok && onClose());
  };
  return (
    <Dialog title="Allocate a floating IP" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <Select
          label="From external network"
          value={net}
          onChange={(e) => setNet(e.target.value)}
          options={externals.map((n) => ({ value: n.id, label: n.name }))}
          error={s.errorFor('net')}
          hint={externals.length ? undefined : 'No external network exists yet: an admin creates one.'}
        />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Allocate
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function AssociateDialog({ fip, onClose }: { fip: FloatingIp | undefined; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const ports = usePorts();
  const servers = useServers();
  const candidates = (ports.data ?? []).filter((p) => p.device_owner.startsWith('compute:'));
  const label = (deviceId: string) => servers.data?.find((s) => s.id === deviceId)?.name ?? deviceId.slice(0, 8);
  const [port, setPort] = useState('');
  const s = useSubmit({ port: ['port', 'router', 'reachable', 'fixed'] });
  useEffect(() => {
    if (!port && candidates[0]) setPort(candidates[0].id);
  }, [port, candidates]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!fip) return;
    void s
      .run(async () => {
        await api.put('network', `/floatingips/${fip.id}`, { floatingip: { port_id: port } });
        await refresh('floatingips', 'servers');
      })
      .then((ok) => ok && onClose());
  };
  return (
    <Dialog title={`Associate ${fip?.floating_ip_address ?? ''}`} open={fip !== undefined} onClose={onClose}>
      <form onSubmit={submit}>
        <Select
          label="Instance port"
          value={port}
          onChange={(e) => setPort(e.target.value)}
          options={candidates.map((p) => ({ value: p.id, label: `${label(p.device_id)}: ${p.fixed_ips.map((f) => f.ip_address).join(', ')}` }))}
          error={s.errorFor('port')}
          hint={candidates.length ? undefined : 'No instance has a port yet: launch one first.'}
        />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Associate
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The project's floating IPs: allocate, associate, disassociate, release. */
export function FloatingIps() {
  useTitle('Floating IPs');
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const fips = useFloatingIps();
  const networks = useNetworks();
  const ports = usePorts();
  const servers = useServers();
  const [allocating, setAllocating] = useState(false);
  const [associating, setAssociating] = useState<FloatingIp | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!api.has('network')) {
    return (
      <section>
        <h1>Floating IPs</h1>
        <p>This cloud has no network service in its catalog yet.</p>
      </section>
    );
  }
  const attachedTo = (f: FloatingIp) => {
    const p = ports.data?.find((x) => x.id === f.port_id);
    const s = p ? servers.data?.find((x) => x.id === p.device_id) : undefined;
    return f.port_id ? `${s ? s.name : 'port'} (${f.fixed_ip_address ?? ''})` : '—';
  };
  const act = (f: FloatingIp, what: 'disassociate' | 'release') => {
    if (what === 'release' && !window.confirm(`Release ${f.floating_ip_address}? Someone else may get it next.`)) return;
    setError(undefined);
    const call = what === 'release' ? api.delete('network', `/floatingips/${f.id}`) : api.put('network', `/floatingips/${f.id}`, { floatingip: { port_id: null } });
    call.then(() => refresh('floatingips', 'servers', 'network-quota')).catch((err: unknown) => setError(`${f.floating_ip_address}: ${errorMessage(err)}`));
  };
  return (
    <section>
      <div className="page-head">
        <h1>Floating IPs</h1>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setAllocating(true)}>
          Allocate floating IP
        </Button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {fips.isPending ? <Loading what="floating IPs" /> : null}
      <ErrorText error={fips.error} />
      {fips.data?.length === 0 ? <Empty title="No floating IPs yet.">Allocate one, then associate it with an instance to reach it from outside.</Empty> : null}
      {fips.data?.length ? (
        <table className="table">
          <caption className="sr-only">Floating IPs</caption>
          <thead>
            <tr>
              <th scope="col">Address</th>
              <th scope="col">Pool</th>
              <th scope="col">Attached to</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {fips.data.map((f) => (
              <tr key={f.id} data-fip={f.floating_ip_address}>
                <td>{f.floating_ip_address}</td>
                <td>{networks.data?.find((n) => n.id === f.floating_network_id)?.name ?? f.floating_network_id}</td>
                <td>{attachedTo(f)}</td>
                <td>
                  <Status value={f.status} />
                </td>
                <td className="row-actions">
                  {f.port_id ? (
                    <Button disabledReason={whyNot} onClick={() => act(f, 'disassociate')} aria-label={`Disassociate ${f.floating_ip_address}`}>
                      Disassociate
                    </Button>
                  ) : (
                    <Button disabledReason={whyNot} onClick={() => setAssociating(f)} aria-label={`Associate ${f.floating_ip_address}`}>
                      Associate
                    </Button>
                  )}
                  <Button variant="danger" disabledReason={whyNot} onClick={() => act(f, 'release')} aria-label={`Release ${f.floating_ip_address}`}>
                    Release
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <AllocateDialog open={allocating} onClose={() => setAllocating(false)} />
      <AssociateDialog fip={associating} onClose={() => setAssociating(undefined)} />
    </section>
  );
}
