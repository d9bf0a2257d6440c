import { useEffect, useState, type FormEvent } from 'react';
import { useAccess, useApi } from '../../api/session';
import { useNetworks, usePorts, useRefresh, useRouters, useSubnets } from '../../api/queries';
import type { Router } from '../../api/types';
import { errorMessage } from '../../api/errors';
import { Button, Select, TextInput } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { Empty, ErrorText, Loading, Status } from '../../ui/feedback';
import { useSubmit } from '../../ui/form';

function CreateRouterDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const networks = useNetworks();
  const externals = (networks.data ?? []).filter((n) => n['router:external']);
  const [name, setName] = useState('');
  const [gateway, setGateway] = useState('');
  const s = useSubmit({ name: ['name'], gateway: ['gateway', 'external'] });
  useEffect(() => {
    if (!gateway && externals[0]) setGateway(externals[0].id);
  }, [gateway, externals]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const router: Record<string, unknown> = { name: name.trim() };
    if (gateway) router['external_gateway_info'] = { network_id: gateway };
    void s
      .run(async () => {
        await api.post('network', '/routers', { router });
        await refresh('routers', 'ports');
      })
      .then((ok) => {
        if (ok) {
          setName('');
          onClose();
        }
      });
  };
  return (
    <Dialog title="Create a router" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <TextInput label="Router name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
        <Select
          label="External gateway"
          value={gateway}
          onChange={(e) => setGateway(e.target.value)}
          options={[...externals.map((n) => ({ value: n.id, label: n.name })), { value: '', label: 'None' }]}
          error={s.errorFor('gateway')}
        />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Create router
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function AddInterfaceDialog({ router, onClose }: { router: Router | undefined; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const subnets = useSubnets();
  const networks = useNetworks();
  const internal = (subnets.data ?? []).filter((s) => !networks.data?.find((n) => n.id === s.network_id)?.['router:external']);
  const [subnet, setSubnet] = useState('');
  const s = useSubmit({ subnet: ['subnet', 'overlap', 'gateway'] });
  useEffect(() => {
    if (!subnet && internal[0]) setSubnet(internal[0].id);
  }, [subnet, internal]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!router) return;
    void s
      .run(async () => {
        await api.put('network', `/routers/${router.id}/add_router_interface`, { subnet_id: subnet });
        await refresh('routers', 'ports');
      })
      .then((ok) => ok && onClose());
  };
  return (
    <Dialog title={`Add an interface to ${router?.name ?? ''}`} open={router !== undefined} onClose={onClose}>
      <form onSubmit={submit}>
        <Select label="Subnet" value={subnet} onChange={(e) => setSubnet(e.target.value)} options={internal.map((x) => ({ value: x.id, label: `${x.name || x.id} ${x.cidr}` }))} error={s.errorFor('subnet')} />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Add interface
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

export function RoutersTab() {
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const routers = useRouters();
  const networks = useNetworks();
  const ports = usePorts();
  const subnets = useSubnets();
  const [open, setOpen] = useState(false);
  const [adding, setAdding] = useState<Router | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const netName = (id: string) => networks.data?.find((n) => n.id === id)?.name ?? id;
  const interfaces = (r: Router) => (ports.data ?? []).filter((p) => p.device_id === r.id && p.device_owner.startsWith('network:router_interface'));
  const subnetName = (id: string) => {
    const s = subnets.data?.find((x) => x.id === id);
    return s ? `${s.name || s.id.slice(0, 8)} ${s.cidr}` : id;
  };
  const fail = (what: string) => (err: unknown) => setError(`${what}: ${errorMessage(err)}`);

  const removeInterface = (r: Router, subnetId: string) => {
    setError(undefined);
    api
      .put('network', `/routers/${r.id}/remove_router_interface`, { subnet_id: subnetId })
      .then(() => refresh('routers', 'ports'))
      .catch(fail(r.name));
  };
  const remove = (r: Router) => {
    if (!window.confirm(`Delete router ${r.name}?`)) return;
    setError(undefined);
    api
      .delete('network', `/routers/${r.id}`)
      .then(() => refresh('routers', 'ports'))
      .catch(fail(r.name));
  };

  return (
    <>
      <div className="page-head">
        <h2>Routers</h2>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setOpen(true)}>
          Create router
        </Button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {routers.isPending ? <Loading what="routers" /> : null}
      <ErrorText error={routers.error} />
      {routers.data?.length === 0 ? <Empty title="No routers yet.">A router joins your networks to the external network so floating IPs work.</Empty> : null}
      {routers.data?.length ? (
        <table className="table">
          <caption className="sr-only">Routers</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">External gateway</th>
              <th scope="col">Interfaces</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {routers.data.map((r) => (
              <tr key={r.id} data-router={r.name}>
                <td>{r.name || r.id}</td>
                <td>
                  {r.external_gateway_info
                    ? `${netName(r.external_gateway_info.network_id)} ${(r.external_gateway_info.external_fixed_ips ?? []).map((f) => f.ip_address).join(', ')}`
                    : 'none'}
                </td>
                <td>
                  {interfaces(r).flatMap((p) =>
                    p.fixed_ips.map((f) => (
                      <div key={`${p.id}-${f.subnet_id}`}>
                        {subnetName(f.subnet_id)} ({f.ip_address}){' '}
                        <Button disabledReason={whyNot} onClick={() => removeInterface(r, f.subnet_id)} aria-label={`Remove interface ${f.ip_address} from ${r.name}`}>
                          Remove
                        </Button>
                      </div>
                    )),
                  )}
                </td>
                <td>
                  <Status value={r.status} />
                </td>
                <td className="row-actions">
                  <Button disabledReason={whyNot} onClick={() => setAdding(r)} aria-label={`Add interface to ${r.name}`}>
                    Add interface
                  </Button>
                  <Button variant="danger" disabledReason={whyNot} onClick={() => remove(r)} aria-label={`Delete router ${r.name}`}>
                    Delete
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <CreateRouterDialog open={open} onClose={() => setOpen(false)} />
      <AddInterfaceDialog router={adding} onClose={() => setAdding(undefined)} />
    </>
  );
}
